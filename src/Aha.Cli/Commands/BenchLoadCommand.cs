using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Runtime;
using Aha.Tokenizer;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Cli.Commands;

/// <summary>
/// `aha bench load`: peak resident memory of loading a real-size BF16 checkpoint (Qwen2.5-0.5B's config, random weights,
/// sharded like the Hub's), against the model's float32 size.
/// </summary>
static class BenchLoadCommand
{
    /// <summary>Qwen2.5-0.5B's config.json values: 494M parameters, tied head, GQA 14/2.</summary>
    public static ModelConfig Qwen25HalfB => new ModelConfig
    {
        ModelType = "qwen2", VocabSize = 151936, HiddenSize = 896, IntermediateSize = 4864, NumHiddenLayers = 24, NumAttentionHeads = 14,
        NumKeyValueHeads = 2, MaxPositionEmbeddings = 32768, RopeTheta = 1000000.0, RmsNormEps = 1e-6, TieWordEmbeddings = true,
        BosTokenId = 151643, EosTokenId = 151643, PadTokenId = null, TorchDtype = "bfloat16",
    }.Validate();

    public static Command Create()
    {
        var dtype = RunOptions.NewDtype();
        var shardMib = new Option<int>("--shard-mib") { Description = "Largest shard written, in MiB (the Hub uses a few GB; smaller makes two or more shards here).", DefaultValueFactory = _ => 600 };
        var keep = new Option<string?>("--keep") { Description = "Write the generated checkpoint to this folder and keep it (default: a temporary folder, deleted)." };
        var threads = RunOptions.NewThreads();
        var command = new Command("load", "Peak RSS of loading a generated Qwen2.5-0.5B-shaped BF16 sharded checkpoint, against its float32 size.")
        {
            dtype, shardMib, keep, threads,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            RunOptions.InitializeTorch(r, threads);
            var computeDtype = RunOptions.ComputeDtype(r, dtype);
            string folder = r.GetValue(keep) ?? Directory.CreateTempSubdirectory("aha-bench-load-").FullName;
            try
            {
                var config = Qwen25HalfB;
                long fileBytes = WriteCheckpoint(config, folder, r.GetValue(shardMib) * 1024L * 1024L, out int shards);
                GC.Collect();
                NativeMemory.Trim(); // hand the generator's freed buffers back, so they are not counted as the load's
                ResetPeakRss();
                var (before, _) = BenchCommand.Rss();
                var clock = Stopwatch.StartNew();
                using var model = ModelLoader.Load(Checkpoint.Open(folder), dtype: computeDtype);
                double seconds = clock.Elapsed.TotalSeconds;
                var (_, peak) = BenchCommand.Rss();
                NativeMemory.Trim();
                var (after, _) = BenchCommand.Rss(); // what the loaded model holds
                long parameters = model.parameters().Sum(p => p.numel());
                long fp32 = parameters * sizeof(float);
                BenchCommand.Report("aha bench load",
                [
                    ("model", $"Qwen2.5-0.5B shape (qwen2): {config.NumHiddenLayers} layers, d {config.HiddenSize}, vocab {config.VocabSize}, random weights"),
                    ("parameters", $"{parameters:N0}"),
                    ("checkpoint", $"BF16, {shards} shards, {BenchCommand.Mib(fileBytes)}"),
                    ("compute dtype", computeDtype.ToString()),
                    ("float32 size", BenchCommand.Mib(fp32)),
                    ("RSS before load", BenchCommand.Mib(before)),
                    ("RSS after load", BenchCommand.Mib(after)),
                    ("peak RSS during load", BenchCommand.Mib(peak)),
                    ("peak / float32 size", $"{(double)peak / fp32:F2}×"),
                    ("seconds", $"{seconds:F1}"),
                ], new JsonObject
                {
                    ["bench"] = "load", ["model"] = "qwen2.5-0.5b-shape", ["parameters"] = parameters, ["file_bytes"] = fileBytes, ["shards"] = shards,
                    ["compute_dtype"] = computeDtype.ToString(), ["fp32_bytes"] = fp32, ["rss_before_bytes"] = before, ["rss_after_bytes"] = after,
                    ["peak_rss_bytes"] = peak, ["peak_over_fp32"] = Math.Round((double)peak / fp32, 3), ["seconds"] = Math.Round(seconds, 2),
                    ["threads"] = get_num_threads(),
                });
            }
            finally
            {
                if (r.GetValue(keep) is null) Directory.Delete(folder, recursive: true);
            }
        }));
        return command;
    }

    /// <summary>Linux: write 5 to /proc/self/clear_refs to restart VmHWM, so the peak is the load's, not the generation's.</summary>
    static void ResetPeakRss()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PlatformNotSupportedException($"cannot reset the peak RSS (/proc/self/clear_refs: {e.Message}); this bench needs Linux.", e);
        }
    }

    // Random BF16 weights, one shard's tensors alive at a time, named and shaped from the model's state dict on the meta device.
    static long WriteCheckpoint(ModelConfig config, string folder, long shardBytes, out int shards)
    {
        List<(string Name, long[] Shape)> entries;
        using (var meta = new LlamaModel(config, META))
            entries = meta.state_dict().Select(p => (p.Key, p.Value.shape)).ToList();
        var groups = new List<List<(string Name, long[] Shape)>> { new() };
        long inGroup = 0;
        foreach (var entry in entries)
        {
            long bytes = entry.Shape.Aggregate(2L, (a, d) => a * d);
            if (inGroup > 0 && inGroup + bytes > shardBytes) { groups.Add([]); inGroup = 0; }
            groups[^1].Add(entry);
            inGroup += bytes;
        }
        shards = groups.Count;
        var weightMap = new JsonObject();
        long total = 0;
        var generator = new Generator(0);
        for (int s = 0; s < groups.Count; s++)
        {
            string file = groups.Count == 1 ? Checkpoint.ModelFile : $"model-{s + 1:D5}-of-{groups.Count:D5}.safetensors";
            using var scope = NewDisposeScope();
            var tensors = groups[s].ToDictionary(e => e.Name, e => e.Name.EndsWith("norm.weight", StringComparison.Ordinal)
                ? ones(e.Shape, bfloat16) : (randn(e.Shape, generator: generator) * 0.02).to(bfloat16));
            SafeTensors.Save(Path.Combine(folder, file), tensors, SafeTensors.PyTorchMetadata);
            foreach (var name in tensors.Keys) weightMap[name] = file;
            total += tensors.Values.Sum(t => t.numel() * 2);
        }
        if (groups.Count > 1)
            File.WriteAllText(Path.Combine(folder, WeightFiles.IndexFile),
                new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap }.ToJsonString());
        File.WriteAllText(Path.Combine(folder, Checkpoint.ConfigFile), config.ToJson());
        ByteTokenizer.Default.Save(folder); // any tokenizer whose ids fit; loading the weights is what is measured
        return total;
    }
}
