using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Tokenizer;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

/// <summary>
/// Every command on a folder laid out as the Hub ships qwen3, qwen2 and llama (llama3 rope scaling) — BF16, two shards, tied
/// embeddings — with the real published tokenizer (<see cref="PublishedCheckpoints"/>), run as real `aha` processes.
/// Expected ids are the published tokenizers' own (HF's Rust tokenizers give the same; see HfTokenizerTests).
/// </summary>
public class PublishedCheckpointCliTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    static readonly string[] Cpu = ["--threads", "1", "--device", "cpu"];

    static string Run(params string[] args)
    {
        int code = CliProcess.Run(Timeout, out var stdout, out var stderr, args);
        Assert.True(code == 0, $"aha {string.Join(' ', args)} exited {code}:\n{stderr}\n{stdout}");
        return stdout;
    }

    [Theory]
    [MemberData(nameof(PublishedCheckpoints.Families), MemberType = typeof(PublishedCheckpoints))]
    public void Info_tokenize_chat_template_and_generate_work_on_the_folder(string family)
    {
        using var temp = new TempDirectory();
        string folder = PublishedCheckpoints.Build(family, temp);
        bool llama = family == "llama";

        string info = Run("info", "--model", folder);
        Assert.Contains($"arch:       {family}", info);
        Assert.Contains("weights:    bfloat16 (BFloat16), 2 shards", info);

        // "Hello world": Qwen's ids 9707 1879, Llama 3's 9906 1917 (the published vocabularies); Llama 3.1's post-processor adds <|begin_of_text|>.
        int[] hello = llama ? [9906, 1917] : [9707, 1879];
        var plain = JsonNode.Parse(Run("tokenize", "--model", folder, "--text", "Hello world").Trim())!;
        Assert.Equal(hello, plain["ids"]!.AsArray().Select(x => x!.GetValue<int>()));
        var special = JsonNode.Parse(Run("tokenize", "--model", folder, "--text", "Hello world", "--add-special-tokens").Trim())!;
        Assert.Equal(llama ? [128000, .. hello] : hello, special["ids"]!.AsArray().Select(x => x!.GetValue<int>()));

        File.WriteAllText(temp["messages.json"], """[{"role": "user", "content": "What is 2+2?"}]""");
        string rendered = Run(["chat-template", "--model", folder, "--messages", temp["messages.json"], .. (llama ? new[] { "--var", "date_string=26 Jul 2024" } : [])]);
        Assert.Contains(llama ? "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            : "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", rendered);

        // The CLI's prompt ids are the tokenizer's with BOS per the post-processor; its greedy ids are the model's own greedy ids.
        var generated = JsonNode.Parse(Run(["generate", "--model", folder, "--prompt", "Hello world", "--max-tokens", "5", "--temperature", "0", "--json", .. Cpu]).Trim())!;
        Assert.Equal(llama ? [128000, .. hello] : hello, generated["prompt_ids"]!.AsArray().Select(x => x!.GetValue<int>()));
        var checkpoint = Checkpoint.Open(folder);
        using (var model = ModelLoader.Load(checkpoint))
        {
            var completion = generated["completion_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
            Assert.Equal(Greedy(model, [.. (llama ? [128000] : Array.Empty<int>()), .. hello], completion.Length), completion);
            Assert.Equal(checkpoint.Tokenizer.Decode(completion, skipSpecialTokens: true), generated["completion"]!.GetValue<string>());
        }

        var chat = JsonNode.Parse(Run(["generate", "--model", folder, "--prompt", "What is 2+2?", "--chat", "--max-tokens", "4", "--temperature", "0", "--json", .. Cpu]).Trim())!;
        var chatPrompt = chat["prompt_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
        Assert.Equal(checkpoint.Tokenizer.EncodeChat([new ChatMessage("user", "What is 2+2?")]), chatPrompt);
        Assert.Equal(checkpoint.Tokenizer.TokenToId(llama ? "<|start_header_id|>" : "<|im_start|>"), chatPrompt[llama ? 1 : 0]);
    }

    /// <summary>Greedy continuation by full forward passes (no KV cache): an independent path from the CLI's engine.</summary>
    static int[] Greedy(Aha.Model.LlamaModel model, int[] prompt, int count)
    {
        using var noGrad = no_grad();
        var ids = prompt.ToList();
        for (int i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            using var logits = model.forward(tensor(ids.Select(x => (long)x).ToArray()).unsqueeze(0));
            ids.Add((int)logits[0, -1].argmax().item<long>());
        }
        return [.. ids.Skip(prompt.Length)];
    }
}
