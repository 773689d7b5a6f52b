using System.Runtime.Intrinsics.X86;
using Aha.Checkpoints;
using Aha.Export;
using Aha.Generation;
using Aha.Model;
using Aha.Tests.Model;
using Aha.Tests.Training;
using Aha.Tokenizer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Aha.Tests.Export;

/// <summary>
/// GGUF files Aha writes, read by llama.cpp itself (LLamaSharp's CPU build): it loads them, tokenizes as Aha does and
/// decodes greedily to the same tokens as Aha's engine — for Qwen2, Qwen3 and Llama 3 (llama3 rope scaling) checkpoints
/// laid out as the Hub ships them, and for Aha's byte models.
/// </summary>
public class GgufExportTests(ITestOutputHelper output)
{
    const int NewTokens = 16;

    static readonly string[] Texts =
    [
        "Hello world", "What is 123 + 4567? Let's think.", "  leading spaces\n\nand\ttabs", "naïve café, 日本語 and emoji 🦙!",
        "<think>\nreasoning</think> answer", "don't you'LL see 3.14159 or 1,000,000",
    ];

    [Fact]
    public void The_avx512_build_of_llama_cpp_loads_where_the_cpu_has_avx512()
    {
        Assert.Equal(Avx512F.IsSupported ? "avx512" : Avx2.IsSupported ? "avx2" : "none", LlamaCpp.Build);
    }

    [Theory]
    [MemberData(nameof(PublishedCheckpoints.Families), MemberType = typeof(PublishedCheckpoints))]
    public void A_hub_layout_checkpoint_exported_to_f32_tokenizes_and_decodes_in_llama_cpp_as_in_aha(string family)
    {
        using var temp = new TempDirectory();
        string folder = PublishedCheckpoints.Build(family, temp);
        string gguf = temp["model.gguf"];
        var result = GgufExport.Write(folder, null, gguf, GgufTensorType.F32);
        Assert.Equal(family, result.Architecture);
        Assert.Equal(family == "llama" ? "llama-bpe" : "qwen2", result.Vocabulary.PreTokenizer);

        var (model, checkpoint) = ModelLoader.OpenAndLoad(folder);
        using var _ = model;
        var tokenizer = checkpoint.Tokenizer;
        var (weights, context) = LlamaCpp.Open(gguf);
        using (weights)
        using (context)
        {
            foreach (string text in Texts)
                Assert.Equal(tokenizer.Encode(text, addSpecialTokens: true), LlamaCpp.Tokenize(weights, text, addBos: true));
            string chat = tokenizer.RenderChat([new ChatMessage("user", "What is 17 * 23?")]);
            var prompt = tokenizer.Encode(chat, addSpecialTokens: true);
            Assert.Equal(prompt, LlamaCpp.Tokenize(weights, chat, addBos: true));
            Assert.Equal(checkpoint.Config.VocabSize, weights.Vocab.Count);

            // Logits at every prompt position: rope (the llama permutation, llama3's rope_freqs, qwen's NEOX), GQA, biases and q/k norms all show here.
            float maxDiff = MaxLogitDifference(model, prompt, LlamaCpp.Logits(context, prompt), out float scale);
            var aha = AhaGreedy(model, prompt);
            var (llama, margin) = LlamaCpp.Greedy(context, prompt, NewTokens);
            output.WriteLine($"{family}: {result.Tensors} tensors, prompt {prompt.Length} ids, max |Δlogit| {maxDiff:G3} (logits up to {scale:G3}), greedy margin {margin:G3}; aha [{string.Join(",", aha)}]");
            Assert.True(maxDiff < 1e-4f * Math.Max(1, scale), $"{family}: llama.cpp's logits differ from Aha's by up to {maxDiff} (largest logit {scale})");
            Assert.Equal(aha, llama);
        }
    }

    [Fact]
    public void A_byte_model_exported_to_f32_tokenizes_and_decodes_in_llama_cpp_as_in_aha()
    {
        using var temp = new TempDirectory();
        string folder = ByteCheckpoint(temp);
        string gguf = temp["byte.gguf"];
        var result = GgufExport.Write(folder, null, gguf, GgufTensorType.F32);
        Assert.Equal(("llama", "gpt-2", 0), (result.Architecture, result.Vocabulary.PreTokenizer, result.Vocabulary.Merges.Count));

        var (model, checkpoint) = ModelLoader.OpenAndLoad(folder);
        using var _ = model;
        var (weights, context) = LlamaCpp.Open(gguf);
        using (weights)
        using (context)
        {
            // Special-token text becomes its one id in both; everything else is one id per UTF-8 byte.
            foreach (string text in Texts.Append("<|user|>12+34=<|end|><|assistant|>").Append("<|bogus|> <|end"))
                Assert.Equal(checkpoint.Tokenizer.Encode(text, addSpecialTokens: true), LlamaCpp.Tokenize(weights, text, addBos: true));
            foreach (string text in new[] { "12+34=", "<|user|>What is 7*8?<|end|><|assistant|>" })
            {
                var prompt = checkpoint.Tokenizer.Encode(text, addSpecialTokens: true);
                float maxDiff = MaxLogitDifference(model, prompt, LlamaCpp.Logits(context, prompt), out float scale);
                var (llama, margin) = LlamaCpp.Greedy(context, prompt, NewTokens);
                output.WriteLine($"byte model, {text}: max |Δlogit| {maxDiff:G3} (logits up to {scale:G3}), greedy margin {margin:G3}");
                Assert.True(maxDiff < 1e-4f * Math.Max(1, scale), $"llama.cpp's logits differ from Aha's by up to {maxDiff} (largest logit {scale})");
                Assert.Equal(AhaGreedy(model, prompt), llama);
            }
        }
    }

    [Fact]
    public void F16_and_q8_0_exports_load_and_their_greedy_agreement_with_aha_f32_is_reported()
    {
        using var temp = new TempDirectory();
        string folder = ByteCheckpoint(temp);
        var (model, checkpoint) = ModelLoader.OpenAndLoad(folder);
        using var _ = model;
        var prompts = Enumerable.Range(0, 8).Select(i => checkpoint.Tokenizer.Encode($"{17 * i + 3}+{29 * i + 11}=", addSpecialTokens: true)).ToList();
        var reference = prompts.Select(p => AhaGreedy(model, p)).ToList();
        foreach (var type in new[] { GgufTensorType.F16, GgufTensorType.Q8_0 })
        {
            string gguf = temp[$"byte-{type}.gguf"];
            var result = GgufExport.Write(folder, null, gguf, type);
            // Every matrix of the byte model has rows of whole 32-value blocks: q8_0 applies to all of them.
            Assert.Equal(checkpoint.Config.NumHiddenLayers * 7 + 2, result.TensorTypes[type]);
            var (weights, context) = LlamaCpp.Open(gguf);
            using (weights)
            using (context)
            {
                int identical = 0, agreeing = 0;
                for (int i = 0; i < prompts.Count; i++)
                {
                    var tokens = LlamaCpp.Greedy(context, prompts[i], NewTokens).Tokens;
                    identical += tokens.SequenceEqual(reference[i]) ? 1 : 0;
                    agreeing += tokens.Zip(reference[i]).TakeWhile(p => p.First == p.Second).Count();
                }
                output.WriteLine($"{type}: {identical}/{prompts.Count} completions identical to Aha's f32 greedy; {agreeing}/{prompts.Count * NewTokens} tokens before the first difference");
                // The first token follows from the prompt alone; a wrong tensor layout or scale would change it.
                Assert.True(agreeing >= prompts.Count, $"{type}: only {agreeing} leading tokens agree over {prompts.Count} prompts");
            }
        }
    }

    [Fact]
    public void An_adapter_is_merged_before_export_and_llama_cpp_decodes_what_base_plus_adapter_does()
    {
        using var temp = new TempDirectory();
        string folder = ByteCheckpoint(temp);
        string adapterFolder = temp["adapter"];
        Directory.CreateDirectory(adapterFolder);
        var (model, checkpoint) = ModelLoader.OpenAndLoad(folder);
        using var _ = model;
        var adapters = model.AttachLora(new LoraConfig { Rank = 4, Alpha = 8 });
        using (no_grad())
            foreach (var (key, t) in adapters.PeftStateDict())
                if (key.Contains("lora_B", StringComparison.Ordinal)) t.copy_(randn(t.shape, generator: new Generator(5)) * 0.5);
        AdapterCheckpoint.WriteAdapter(adapterFolder, adapters, Path.GetFullPath(folder));

        string gguf = temp["merged.gguf"];
        GgufExport.Write(folder, adapterFolder, gguf, GgufTensorType.F32);
        var prompt = checkpoint.Tokenizer.Encode("12+34=", addSpecialTokens: true);
        var withAdapter = AhaGreedy(model, prompt); // the adapter applied beside the frozen weights, not merged
        var (weights, context) = LlamaCpp.Open(gguf);
        using (weights)
        using (context)
            Assert.Equal(withAdapter, LlamaCpp.Greedy(context, prompt, NewTokens).Tokens);
        using var plain = ModelLoader.OpenAndLoad(folder).Model;
        Assert.NotEqual(withAdapter, AhaGreedy(plain, prompt)); // the adapter changes the greedy path
    }

    [Fact]
    public void Aha_export_gguf_writes_a_q8_0_file_llama_cpp_loads_and_refuses_an_unknown_type()
    {
        using var temp = new TempDirectory();
        string folder = ByteCheckpoint(temp), gguf = temp["cli.gguf"];
        var timeout = TimeSpan.FromSeconds(180);
        Assert.True(CliProcess.Run(timeout, out var stdout, out var stderr, "export", "gguf", "--model", folder, "--out", gguf, "--type", "q8_0") == 0, stderr);
        Assert.Equal(Path.GetFullPath(gguf), stdout.Trim());
        Assert.Contains("16 q8_0", stderr); // 2 layers × 7 projections, the embedding and the output head: rows of 64 are whole blocks
        var (weights, context) = LlamaCpp.Open(gguf);
        using (weights)
        using (context)
            Assert.Equal(ByteTokenizer.Default.Encode("1+1=", addSpecialTokens: true), LlamaCpp.Tokenize(weights, "1+1=", addBos: true));
        Assert.NotEqual(0, CliProcess.Run(timeout, out _, out stderr, "export", "gguf", "--model", folder, "--out", temp["bad.gguf"], "--type", "q4_k"));
        Assert.Contains("use f32, f16 or q8_0", stderr);
        Assert.False(File.Exists(temp["bad.gguf"]));
    }

    [Fact]
    public void The_byte_models_chat_template_is_exported_without_transformers_generation_tags_and_renders_the_same()
    {
        var vocabulary = GgufVocabulary.From(ByteTokenizer.Default, ByteTokenizer.VocabSize);
        Assert.Contains("{% generation %}", ChatTemplate.Jinja);
        Assert.DoesNotContain("generation %}", vocabulary.ChatTemplate);
        ChatMessage[] messages = [new("system", "Be brief."), new("user", "12+34="), new("assistant", "46"), new("user", "7*8=")];
        var special = new Dictionary<string, object?> { ["bos_token"] = "<|bos|>", ["eos_token"] = "<|eos|>" };
        Assert.Equal(ByteTokenizer.Default.RenderChat(messages),
            Aha.Tokenizer.Jinja.ChatTemplateRenderer.Render(vocabulary.ChatTemplate!, "exported", messages, new ChatOptions(), special));
        Assert.Equal(([.. Enumerable.Range(0, 256).Select(_ => GgufVocabulary.Normal), .. Enumerable.Repeat(GgufVocabulary.Control, 7), GgufVocabulary.Unused]),
            vocabulary.TokenTypes);
        Assert.Equal((true, false, 256, 257, 258), (vocabulary.AddBos, vocabulary.AddEos, vocabulary.BosId, vocabulary.EosId, vocabulary.PadId));
    }

    [Fact]
    public void Q8_0_blocks_hold_the_f16_scale_max_over_127_and_values_rounded_half_away_from_zero()
    {
        // One block: max |x| = 12.7, so d = 0.1 and x/d are 127, -127, 5.5 → 6, -5.5 → -6, 0.04/0.1 = 0.4 → 0, then zeros.
        var x = new float[32];
        (x[0], x[1], x[2], x[3], x[4]) = (12.7f, -12.7f, 0.55f, -0.55f, 0.04f);
        byte[] block = GgufQuantization.ToQ8_0(x);
        Assert.Equal(34, block.Length);
        Assert.Equal((Half)0.1f, BitConverter.ToHalf(block));
        Assert.Equal(new sbyte[] { 127, -127, 6, -6, 0, 0 }, block[2..8].Select(b => (sbyte)b));
        Assert.All(GgufQuantization.ToQ8_0(new float[32]).Skip(2), b => Assert.Equal(0, b)); // an all-zero block: d = 0, no division
    }

    [Fact]
    public void The_llama_permutation_moves_each_heads_rotate_half_pairs_next_to_each_other()
    {
        // 2 heads of dimension 4, one input column: HF pairs rows (0,2), (1,3) of a head; llama.cpp wants them at (0,1), (2,3).
        using var rows = arange(8, dtype: float32).reshape(8, 1);
        using var permuted = GgufExport.PermuteForInterleavedRope(rows, heads: 2);
        Assert.Equal(new float[] { 0, 2, 1, 3, 4, 6, 5, 7 }, permuted.data<float>().ToArray());
    }

    [Theory]
    [InlineData("model.layers.3.self_attn.q_proj.bias", "blk.3.attn_q.bias")]
    [InlineData("model.layers.0.self_attn.k_norm.weight", "blk.0.attn_k_norm.weight")]
    [InlineData("model.layers.11.post_attention_layernorm.weight", "blk.11.ffn_norm.weight")]
    [InlineData("model.layers.2.mlp.down_proj.weight", "blk.2.ffn_down.weight")]
    [InlineData("model.norm.weight", "output_norm.weight")]
    [InlineData("lm_head.weight", "output.weight")]
    public void Hugging_face_names_map_to_llama_cpp_names(string hf, string gguf) => Assert.Equal(gguf, GgufExport.TensorName(hf));

    [Fact]
    public void An_unmappable_tensor_is_refused_with_its_name()
    {
        var e = Assert.Throws<NotSupportedException>(() => GgufExport.TensorName("model.layers.0.mlp.experts.0.up_proj.weight"));
        Assert.Contains("model.layers.0.mlp.experts.0.up_proj.weight", e.Message);
    }

    /// <summary>A random byte model (d 64, 4 heads of 16, GQA 2) saved with Aha's byte tokenizer; its rows are whole q8_0 blocks.</summary>
    static string ByteCheckpoint(TempDirectory temp)
    {
        var config = new ModelConfig
        {
            VocabSize = ByteTokenizer.VocabSize, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4,
            NumKeyValueHeads = 2, MaxPositionEmbeddings = 128,
        }.Validate();
        using var model = TinyModels.Random(config);
        return Checkpoint.Save(temp.Path, "byte", model, config, ByteTokenizer.Default, options: new CheckpointOptions { UpdateLatest = false, KeepLast = 0 });
    }

    /// <summary>The largest |Aha − llama.cpp| over every position's logits, and the largest |logit| (the scale it compares to).</summary>
    static float MaxLogitDifference(LlamaModel model, int[] ids, float[][] llama, out float scale)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var aha = model.forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]))[0].contiguous().data<float>().ToArray(); // (T·V)
        int vocab = llama[0].Length;
        Assert.Equal(ids.Length * vocab, aha.Length);
        float max = 0;
        scale = 0;
        for (int t = 0; t < ids.Length; t++)
            for (int v = 0; v < vocab; v++)
            {
                max = Math.Max(max, Math.Abs(aha[t * vocab + v] - llama[t][v]));
                scale = Math.Max(scale, Math.Abs(aha[t * vocab + v]));
            }
        return max;
    }

    static int[] AhaGreedy(LlamaModel model, int[] prompt) =>
        [.. new Engine(model).Generate([new GenerationRequest(prompt)], new SamplingOptions { Temperature = 0, MaxNewTokens = NewTokens })[0].TokenIds];
}
