using Aha.Checkpoints;
using System.CommandLine;
using Aha.Model;
using Aha.Training;
using Aha.Runtime;
using Aha.Tokenizer;
using TorchSharp;

namespace Aha.Cli.Commands;

static class InfoCommand
{
    public static Command Create()
    {
        var modelPath = new Option<string?>("--model") { Description = "A checkpoint or run folder: show its shape, sizes and config." };
        var command = new Command("info", "Show the runtime (libtorch, threads, devices); with --model, the checkpoint's shape and sizes.") { modelPath };
        command.SetAction(r => Cli.Run(() =>
        {
            TorchRuntime.Initialize();
            Console.WriteLine($"libtorch: {TorchRuntime.NativeStatus}");
            Console.WriteLine($"threads:  {torch.get_num_threads()}");
            Console.WriteLine($"cuda:     {(torch.cuda.is_available() ? "available" : "not available")}");
            if (r.GetValue(modelPath) is not { } path) return;
            var checkpoint = ModelLoader.Open(path);
            var config = checkpoint.Config;
            var size = ModelSize.Of(config);
            Console.WriteLine($"checkpoint: {checkpoint.Directory}{(checkpoint.State is { } s ? $" (step {s.Step}, {s.Trainer})" : "")}");
            Console.WriteLine($"arch:       {(config.IsDeepSeekV3 ? $"DeepSeek-V3-style ({string.Join(" + ", Features(config))})" : Family(config))}");
            Console.WriteLine($"weights:    {config.TorchDtype} ({config.StorageDtype}), {Shards(checkpoint.Directory)}; computed in float32 unless --dtype bfloat16");
            Console.WriteLine($"parameters: {size.TotalParameters:N0} total{(size.MtpParameters > 0 ? $" ({size.MtpParameters:N0} in MTP modules, dropped at inference)" : "")}");
            Console.WriteLine($"active:     {size.ActiveParameters:N0} per token ({size.ActiveParameters * 100.0 / size.TotalParameters:F0}% of total)");
            Console.WriteLine($"layers:     {config.NumHiddenLayers} × (d {config.HiddenSize}, {Attention(config)}, {Mlp(config)})");
            Console.WriteLine($"kv cache:   {size.KvCacheBytesPerToken:N0} bytes per token (fp32, all layers)");
            Console.WriteLine($"tokenizer:  {Describe(checkpoint.Tokenizer)}");
            if (!config.IsDeepSeekV3) Console.WriteLine($"grpo memory: {GrpoMemoryLine(config)}");
            Console.WriteLine($"config:     {config.ToJson().ReplaceLineEndings("\n            ")}");
        }));
        return command;
    }

    /// <summary>GrpoMemory's estimate for one minibatch of 8 rollouts of 20 + 64 tokens, fp32, full vs LoRA r 16 on all seven projections.</summary>
    static string GrpoMemoryLine(ModelConfig config)
    {
        var full = GrpoMemory.Of(config, null, 8, 84);
        var lora = GrpoMemory.Of(config, new LoraConfig(), 8, 84);
        long perRollout = GrpoMemory.Of(config, null, 9, 84).Activations - full.Activations;
        static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F1} GiB";
        return $"~{Gib(full.Total)} full fine-tune (weights {Gib(full.Weights)}, grads + AdamW + reference {Gib(full.Training)}, activations {Gib(full.Activations)}); " +
            $"~{Gib(lora.Total)} with LoRA r 16 on all seven projections ({lora.AdapterParameters:N0} adapter parameters). " +
            $"Estimated from the shapes for a minibatch of 8 rollouts of 84 tokens in float32; each further rollout per minibatch adds ~{perRollout / (double)(1 << 20):N0} MiB " +
            "(split groups with --minibatches). Calibrated on aha bench grpo-memory (Qwen2.5-0.5B shape: measured 16.0 GiB full, 8.4 GiB LoRA).";
    }

    static string Describe(ITokenizer t)
    {
        string Id(int? id) => id is { } i ? $"{i} {t.IdToToken(i)}" : "none";
        bool hasTemplate;
        try { t.RenderChat([new ChatMessage("user", "x")]); hasTemplate = true; }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or InvalidDataException) { hasTemplate = false; }
        return $"{t.GetType().Name}, vocab {t.VocabSize:N0}, bos {Id(t.BosId)}, eos {Id(t.EosId)}, pad {Id(t.PadId)}, " +
            $"stop ids [{string.Join(", ", t.StopIds.Select(id => Id(id)))}], chat template {(hasTemplate ? "yes" : "no")}";
    }

    static string Family(ModelConfig c) => c.ModelType + " (" + string.Join(", ", new[]
    {
        c.QkvBias ? (c.OutputBias ? "q/k/v/o bias" : "q/k/v bias") : null,
        c.UsesQkNorm ? "q/k norm" : null,
        c.RopeScaling is { } r ? $"llama3 RoPE scaling ×{r.Factor} from {r.OriginalMaxPositionEmbeddings}" : null,
        c.HasExplicitHeadDim ? $"head_dim {c.HeadDim}" : null,
        c.TieWordEmbeddings ? "tied head" : "untied head",
    }.Where(x => x is not null)) + ")";

    static string Shards(string directory) =>
        WeightFiles.Headers(directory) is { Count: > 1 } headers ? $"{headers.Count} shards" : "one file";

    static IEnumerable<string> Features(ModelConfig c)
    {
        if (c.UsesMla) yield return "MLA";
        if (c.UsesMoe) yield return "MoE";
        if (c.UsesMtp) yield return $"MTP ×{c.NumNextnPredictLayers}";
    }

    static string Attention(ModelConfig c) => c.UsesMla
        ? $"MLA {c.NumAttentionHeads} heads, d_c {c.KvLoraRank}, d_R {c.QkRopeHeadDim}, q rank {(c.QLoraRank is > 0 ? c.QLoraRank : "none")}"
        : $"heads {c.NumAttentionHeads}/{c.NumKeyValueHeads} kv";

    static string Mlp(ModelConfig c) => c.UsesMoe
        ? $"MoE from layer {c.FirstKDenseReplace}: {c.NSharedExperts} shared + top-{c.NumExpertsPerTok} of {c.NRoutedExperts} routed, width {c.MoeIntermediateSize}; dense ffn {c.IntermediateSize}"
        : $"ffn {c.IntermediateSize}";
}
