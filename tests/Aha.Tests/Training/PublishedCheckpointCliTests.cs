using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Eval;
using Aha.Tasks;
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
        Assert.Contains(family switch
        {
            "qwen3" => "arch:       qwen3 (q/k norm, head_dim 16, tied head)",
            "qwen2" => "arch:       qwen2 (q/k/v bias",
            _ => "arch:       llama (llama3 RoPE scaling ×8 from 16, head_dim 8, tied head)",
        }, info);
        Assert.Contains("weights:    bfloat16 (BFloat16), 2 shards", info);

        // "Hello world": Qwen's ids 9707 1879, Llama 3's 9906 1917 (the published vocabularies); Llama 3.1's post-processor adds <|begin_of_text|>.
        int[] hello = llama ? [9906, 1917] : [9707, 1879];
        if (family != "qwen2") // qwen2 is paired with the same tokenizer files as qwen3: the same ids and template
        {
            var special = JsonNode.Parse(Run("tokenize", "--model", folder, "--text", "Hello world", "--add-special-tokens").Trim())!;
            Assert.Equal(llama ? [128000, .. hello] : hello, special["ids"]!.AsArray().Select(x => x!.GetValue<int>()));

            File.WriteAllText(temp["messages.json"], """[{"role": "user", "content": "What is 2+2?"}]""");
            string rendered = Run(["chat-template", "--model", folder, "--messages", temp["messages.json"], .. (llama ? new[] { "--var", "date_string=26 Jul 2024" } : [])]);
            Assert.Contains(llama ? "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
                : "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", rendered);
        }

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

        if (family == "qwen2") return; // the chat prompt is the tokenizer's (qwen3's files), checked there
        var chat = JsonNode.Parse(Run(["generate", "--model", folder, "--prompt", "What is 2+2?", "--chat", "--max-tokens", "4", "--temperature", "0", "--json", .. Cpu]).Trim())!;
        var chatPrompt = chat["prompt_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
        Assert.Equal(checkpoint.Tokenizer.EncodeChat([new ChatMessage("user", "What is 2+2?")]), chatPrompt);
        Assert.Equal(checkpoint.Tokenizer.TokenToId(llama ? "<|start_header_id|>" : "<|im_start|>"), chatPrompt[llama ? 1 : 0]);
    }

    const string Gsm8k = """
        {"question": "Tom has 2 apples and buys 3 more. How many apples does he have?", "answer": "2 + 3 = 5\n#### 5"}
        {"question": "A box holds 4 pens. How many pens are in 2 boxes?", "answer": "4 * 2 = 8\n#### 8"}

        """;

    const string Conversations = """
        {"messages": [{"role": "user", "content": "What is 2+3?"}, {"role": "assistant", "content": "2+3 = 5. The answer is 5."}]}
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 4*2?"}, {"role": "assistant", "content": "8"}]}
        {"messages": [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}, {"role": "user", "content": "Another?"}, {"role": "assistant", "content": "Red."}]}

        """;

    const string Documents = """
        {"text": "The quick brown fox jumps over the lazy dog. 12 + 30 = 42."}
        {"text": "Continued pretraining reads plain documents, packed back to back."}

        """;

    /// <summary>
    /// Qwen3's template rewrites earlier turns (drops &lt;think&gt; blocks), so SFT's assistant masks are its hardest case;
    /// then a full GRPO run with the chat template, evaluated against its input with --compare, reloaded in a new process.
    /// (Qwen2 differs from Qwen3 only in q/k/v biases and q/k norms, which the load/generate test covers.)
    /// </summary>
    [Fact]
    public void Qwen3_sft_grpo_and_eval_compare_run_with_the_chat_template_and_keep_the_family_layout()
    {
        const string family = "qwen3";
        using var temp = new TempDirectory();
        string folder = PublishedCheckpoints.Build(family, temp, endOfTurnScale: 20);
        File.WriteAllText(temp["gsm8k.jsonl"], Gsm8k);
        File.WriteAllText(temp["chat.jsonl"], Conversations);
        var input = Checkpoint.Open(folder);
        Assert.Contains(input.Tokenizer.TokenToId(PublishedCheckpoints.EndOfTurn(family))!.Value, input.Tokenizer.StopIds);

        Run(["sft", "--model", folder, "--out", temp["sft"], "--data", temp["chat.jsonl"], "--val-fraction", "0", "--steps", "2", "--batch-size", "2",
            "--seq-len", "64", "--lr", "1e-2", "--warmup", "0", "--eval-every", "0", "--save-every", "0", .. Cpu]);
        Run(["grpo", "--model", folder, "--out", temp["grpo"], "--task", "gsm8k", "--data", temp["gsm8k.jsonl"], "--template", "chat", "--steps", "2",
            "--prompts", "1", "--group-size", "4", "--max-tokens", "4", "--overlong-cache", "3", "--temperature", "1", "--lr", "1e-2", "--save-every", "0", .. Cpu]);
        string sft = Checkpoint.LoadLatest(temp["sft"]).Directory, grpo = Checkpoint.LoadLatest(temp["grpo"]).Directory;

        // eval --template chat of the trained run beside its input: prompts rendered by the folder's template, one subfolder per model.
        var line = JsonNode.Parse(Run(["eval", "--model", temp["grpo"], "--compare", folder, "--task", "gsm8k", "--data", temp["gsm8k.jsonl"], "--template", "chat",
            "--n", "2", "--max-tokens", "4", "--out", temp["eval"]]).Trim().Split('\n')[^1])!;
        Assert.Equal(grpo, line["a"]!["checkpoint"]!.GetValue<string>());
        Assert.Equal(input.Directory, line["b"]!["checkpoint"]!.GetValue<string>());
        foreach (var side in new[] { "a", "b" })
        {
            var rows = SampleRows(line[side]!["out"]!.GetValue<string>());
            Assert.Equal(2, rows.Count);
            Assert.All(rows, r => Assert.Contains("<|im_start|>user\n", r["prompt"]!.GetValue<string>()));
        }

        using var before = ModelLoader.Load(input);
        int[] probe = input.Tokenizer.EncodeChat([new ChatMessage("user", "What is 2+3?")]);
        foreach (var saved in new[] { sft, grpo })
        {
            AssertSameLayout(folder, saved);
            using var after = ModelLoader.Load(Checkpoint.Open(saved));
            AssertChanged(before, after, probe, saved);
        }
        // The saved folder reloads in a new process and continues exactly as the reloaded model does here.
        using var reloaded = ModelLoader.Load(Checkpoint.Open(grpo));
        var generated = JsonNode.Parse(Run(["generate", "--model", grpo, "--prompt", "What is 2+3?", "--chat", "--max-tokens", "3", "--temperature", "0", "--json", .. Cpu]).Trim())!;
        var completion = generated["completion_ids"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        Assert.Equal(Greedy(reloaded, probe, completion.Length), completion);
    }

    /// <summary>
    /// Llama 3 (llama3 rope scaling, BOS from the post-processor): continued pretraining from the downloaded folder keeps
    /// its layout and resumes bit-identically; GRPO with LoRA trains PEFT adapters on it with the chat template; eval
    /// applies --adapter to --model only (its --compare is the plain base); merge writes base + adapter in the base's layout.
    /// </summary>
    [Fact]
    public void Llama_continued_pretraining_resumes_exactly_and_a_lora_grpo_adapter_evaluates_and_merges()
    {
        const string family = "llama";
        using var temp = new TempDirectory();
        string folder = PublishedCheckpoints.Build(family, temp, endOfTurnScale: 20);
        File.WriteAllText(temp["gsm8k.jsonl"], Gsm8k);
        File.WriteAllText(temp["docs.jsonl"], Documents);
        var input = Checkpoint.Open(folder);
        using var baseModel = ModelLoader.Load(input);
        int[] probe = input.Tokenizer.EncodeChat([new ChatMessage("user", "What is 2+3?")]);

        // Continued pretraining: two steps saved at each; a resume from step 1 rewrites step 2 byte for byte.
        string[] pretrain = ["pretrain", "--model", folder, "--data", temp["docs.jsonl"], "--val-fraction", "0", "--steps", "2", "--batch-size", "2",
            "--seq-len", "32", "--lr", "1e-2", "--warmup", "0", "--eval-every", "0", "--save-every", "1", "--keep-last", "0", .. Cpu];
        Run([.. pretrain, "--out", temp["pretrain"]]);
        string continued = Checkpoint.LoadLatest(temp["pretrain"]).Directory;
        AssertSameLayout(folder, continued);
        using (var after = ModelLoader.Load(Checkpoint.Open(continued))) AssertChanged(baseModel, after, probe, continued);
        CopyFolder(temp["pretrain"], temp["resumed"]);
        Directory.Delete(Path.Combine(temp["resumed"], "step-000002"), recursive: true);
        File.WriteAllText(Path.Combine(temp["resumed"], Checkpoint.LatestFile), "step-000001\n");
        Run(["pretrain", "--out", temp["resumed"], "--resume", .. Cpu]);
        foreach (var file in new[] { Checkpoint.ModelFile, Checkpoint.OptimizerFile })
            Assert.True(File.ReadAllBytes(Path.Combine(continued, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(temp["resumed"], "step-000002", file))),
                $"{file}: the resumed continued-pretraining run differs from the uninterrupted one");

        // GRPO with LoRA: PEFT adapters only, and they trained (B starts at zero).
        Run(["grpo", "--model", folder, "--out", temp["lora"], "--task", "gsm8k", "--data", temp["gsm8k.jsonl"], "--template", "chat", "--steps", "2",
            "--prompts", "1", "--group-size", "4", "--max-tokens", "4", "--overlong-cache", "3", "--temperature", "1", "--lr", "1e-2", "--save-every", "0",
            "--lora-rank", "4", "--lora-alpha", "8", "--lora-targets", "q_proj,v_proj,down_proj", .. Cpu]);
        var adapter = AdapterCheckpoint.TryLoadLatest(temp["lora"])!;
        Assert.Null(Checkpoint.Validate(adapter.Directory));
        Assert.False(File.Exists(Path.Combine(adapter.Directory, Checkpoint.ModelFile)));
        using (var scope = NewDisposeScope())
            Assert.Contains(SafeTensors.Load(Path.Combine(adapter.Directory, AdapterCheckpoint.WeightsFile)), t => t.Key.Contains("lora_B") && t.Value.abs().max().item<float>() > 0);

        // eval --adapter: run a is base + adapter, run b (--compare) the plain base; each as the library evaluates it in-process.
        var line = JsonNode.Parse(Run(["eval", "--model", folder, "--adapter", adapter.Directory, "--compare", folder, "--task", "gsm8k", "--data", temp["gsm8k.jsonl"],
            "--template", "chat", "--n", "2", "--max-tokens", "4", "--out", temp["eval"]]).Trim().Split('\n')[^1])!;
        Assert.Equal(adapter.Directory, line["a"]!["adapter"]!.GetValue<string>());
        Assert.Null(line["b"]!["adapter"]);
        Assert.EndsWith($"llama+{Path.GetFileName(adapter.Directory)}", line["a"]!["out"]!.GetValue<string>(), StringComparison.Ordinal);
        var task = TaskRegistry.Create("gsm8k", new TaskSettings { File = temp["gsm8k.jsonl"] });
        var items = ModelEvaluator.Problems(task, 2, TaskSplit.All);
        var evalOptions = new EvalOptions { PromptStyle = PromptStyle.Chat, MaxNewTokens = 4 };
        var plain = ModelEvaluator.Generate(baseModel, input.Tokenizer, task, items, evalOptions).Select(r => r.Completion);
        using var adapted = ModelLoader.Load(input);
        adapter.AttachTo(adapted);
        var withAdapter = ModelEvaluator.Generate(adapted, input.Tokenizer, task, items, evalOptions).Select(r => r.Completion);
        Assert.Equal(withAdapter, SampleRows(line["a"]!["out"]!.GetValue<string>()).Select(r => r["completion"]!.GetValue<string>()));
        Assert.Equal(plain, SampleRows(line["b"]!["out"]!.GetValue<string>()).Select(r => r["completion"]!.GetValue<string>()));

        // merge: the base's layout (BF16, its config and generation_config.json) holding W + (α/r)·B·A rounded once to BF16.
        Run("merge", "--model", folder, "--adapter", adapter.Directory, "--out", temp["merged"]);
        AssertSameLayout(folder, temp["merged"]);
        adapted.MergeLora();
        using var merged = ModelLoader.Load(Checkpoint.Open(temp["merged"]));
        var expected = adapted.state_dict();
        foreach (var (name, t) in merged.state_dict())
            Assert.True(t.eq(expected[name].to(bfloat16).to(float32)).all().item<bool>(), $"{name}: the merged checkpoint is not base + adapter rounded to BF16");
    }

    static List<JsonNode> SampleRows(string directory) =>
        File.ReadLines(Path.Combine(directory, "samples.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();

    static void AssertChanged(Aha.Model.LlamaModel before, Aha.Model.LlamaModel after, int[] probe, string saved)
    {
        using var noGrad = no_grad();
        using var x = tensor(probe.Select(i => (long)i).ToArray()).unsqueeze(0);
        using var l0 = before.forward(x);
        using var l1 = after.forward(x);
        Assert.True((l0 - l1).abs().max().item<float>() > 1e-3, $"{saved}: training did not change the model");
    }

    static void CopyFolder(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to));
    }

    /// <summary>Same tensor names and shapes as the input (BF16 as published), same config.json fields, tokenizer files byte-identical.</summary>
    static void AssertSameLayout(string input, string saved)
    {
        var expected = WeightFiles.Headers(input).SelectMany(h => h.Tensors).ToDictionary(t => t.Name, t => (string.Join(",", t.Shape), t.Dtype));
        var actual = WeightFiles.Headers(saved).SelectMany(h => h.Tensors).ToDictionary(t => t.Name, t => (string.Join(",", t.Shape), t.Dtype));
        Assert.Equal(expected.OrderBy(p => p.Key), actual.OrderBy(p => p.Key));
        var inConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(input, "config.json")))!.AsObject();
        var outConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(saved, "config.json")))!.AsObject();
        Assert.Equal(inConfig.Select(p => p.Key).Order(), outConfig.Select(p => p.Key).Order());
        foreach (var (key, value) in inConfig)
            Assert.True(JsonNode.DeepEquals(value, outConfig[key]) || (value is JsonValue a && outConfig[key] is JsonValue b && a.TryGetValue<double>(out var da) && b.TryGetValue<double>(out var db) && da == db),
                $"config.json {key}: {value?.ToJsonString()} became {outConfig[key]?.ToJsonString()}");
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(input, file)), File.ReadAllBytes(Path.Combine(saved, file)));
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
