using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Generation;
using Aha.Model;
using Aha.Runtime;
using Aha.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Cli.Commands;

static class BenchGenerateCommand
{
    public static Command Create()
    {
        var batches = new Option<string>("--batches") { Description = "Batch sizes to time, comma-separated.", DefaultValueFactory = _ => "1,8,64" };
        var quick = new Option<bool>("--quick") { Description = "A small model, short prompts and batches 1 and 8, for a check in seconds." };
        var threads = RunOptions.NewThreads();
        var rounds = new Option<int>("--rounds") { Description = "Rounds of the three paths, alternated; each path's fastest round counts (the VM's bandwidth moves run to run).", DefaultValueFactory = _ => 3 };
        var command = new Command("generate", "Generation speed of the 25.6M-parameter model: prompt 64, 256 new tokens, at several batch sizes (decode step split into model and sampling); batch 1 against the memory-bandwidth bound and the per-op floor; KV cache versus recomputation.")
        {
            batches, quick, threads, rounds,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            RunOptions.InitializeTorch(r, threads);
            bool small = r.GetValue(quick);
            var sizes = (small ? "1,8" : r.GetValue(batches)!).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(s => int.TryParse(s, out int b) && b > 0 ? b : throw new ArgumentException($"--batches: '{s}' is not a positive integer.")).ToList();
            int promptLength = small ? 16 : 64, newTokens = small ? 32 : 256, compared = small ? 16 : 32;
            var config = ModelPresets.Get(small ? "small" : "base", promptLength + newTokens);
            double peak = MatmulPeak.Measure();
            int roundCount = r.GetValue(rounds) is var n && n > 0 ? n : throw new ArgumentException($"--rounds must be a positive integer (got {n}).");
            double bandwidth = MemoryBandwidth.Measure();
            double perOp = OpOverhead.Measure();
            manual_seed(0);
            using var model = new LlamaModel(config);
            model.eval();
            long parameters = model.parameters().Sum(p => p.numel());
            double flopsPerToken = Flops.InferencePerToken(config, parameters);
            // Every weight is read once per decode step, except the embedding, of which only the fed rows are.
            long weightBytes = (parameters - (config.TieWordEmbeddings ? 0 : (long)config.VocabSize * config.HiddenSize)) * sizeof(float);
            var engine = new Engine(model);
            var random = new Random(0);
            List<GenerationRequest> Requests(int b) =>
                Enumerable.Range(0, b).Select(i => new GenerationRequest(Enumerable.Range(0, promptLength).Select(_ => random.Next(0, 256)).ToArray(), i)).ToList();
            // No stop tokens: every row generates exactly newTokens, so the token counts are known.
            var sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = newTokens };
            model.FusedDecodeMaxRows = int.MaxValue; // the fused path at every batch size, to compare it with libtorch's
            engine.Generate(Requests(1), sampling with { MaxNewTokens = 4 }); // warm-up

            var rows = new List<(string, string)>
            {
                ("model", $"{config.NumHiddenLayers} layers, d {config.HiddenSize}, {parameters:N0} parameters"),
                ("prompt, new tokens, threads", $"{promptLength}, {newTokens}, {get_num_threads()}"),
            };
            int peakRow = rows.Count, bandwidthRow = peakRow + 1; // filled in after the rounds, with each one's fastest read
            rows.AddRange([("matmul peak", ""), ("memory bandwidth (256 MB read)", ""), ("cost of one tiny op", $"{perOp * 1e6:F1} µs")]);
            var json = new JsonObject
            {
                ["bench"] = "generate", ["quick"] = small, ["parameters"] = parameters, ["prompt_tokens"] = promptLength, ["new_tokens"] = newTokens,
                ["threads"] = get_num_threads(), ["per_op_seconds"] = Math.Round(perOp, 9), ["weight_bytes_per_token"] = weightBytes,
            };
            // Each batch size decodes the same requests three ways, back to back, for --rounds rounds: the fused path with fp32
            // weights (the default), libtorch's path (AHA_FUSED_DECODE=0), and the fused path with a bf16 weight copy. Each
            // path's fastest round counts, and the bandwidth bound is re-read before and after every fp32 round (the fastest
            // read of the run counts), so a slow moment of the VM lowers neither side of a ratio alone.
            int boundRow = -1;
            var paired = new List<(double BoundSeconds, double WallSeconds, double PrefillSeconds)>(); // batch 1's fp32 rounds, each with its own bound
            var mfuRows = new List<(int Batch, int Row, double TokensPerSecond)>();
            foreach (int b in sizes)
            {
                var requests = Requests(b);
                double libtorch = 0, bf16 = 0, tokensPerSecond = 0;
                DecodeProfile? profile = null;
                double Timed(bool fused, DecodeWeights weights, DecodeProfile? timed = null)
                {
                    (model.FusedDecode, model.DecodeWeights) = (fused, weights);
                    engine.Profile = timed;
                    var clock = Stopwatch.StartNew();
                    engine.Generate(requests, sampling);
                    engine.Profile = null;
                    return (double)b * newTokens / clock.Elapsed.TotalSeconds;
                }
                for (int round = 0; round < roundCount; round++)
                {
                    libtorch = Math.Max(libtorch, Timed(false, DecodeWeights.Float32));
                    bf16 = Math.Max(bf16, Timed(true, DecodeWeights.BFloat16));
                    // The fp32 round between two bandwidth reads: at batch 1 its fraction of the bound is taken against
                    // the faster of the two, so both sides of that ratio come from the same few seconds.
                    double before = MemoryBandwidth.Measure();
                    var roundProfile = new DecodeProfile();
                    double fp32 = Timed(true, DecodeWeights.Float32, roundProfile);
                    double after = MemoryBandwidth.Measure();
                    bandwidth = Math.Max(bandwidth, Math.Max(before, after));
                    if (fp32 > tokensPerSecond) (tokensPerSecond, profile) = (fp32, roundProfile);
                    if (b == 1) paired.Add((weightBytes / Math.Max(before, after), newTokens / fp32, roundProfile.PrefillSeconds));
                    peak = Math.Max(peak, MatmulPeak.Measure());
                }
                rows.Add(($"tokens/s at batch {b}: libtorch path / fused bf16", $"{libtorch:N0} / {bf16:N0} (fused fp32 ÷ libtorch {tokensPerSecond / libtorch:F2}×, bf16 ÷ fp32 {bf16 / tokensPerSecond:F2}×)"));
                json[$"tokens_per_second_b{b}_libtorch"] = Math.Round(libtorch, 1);
                json[$"tokens_per_second_b{b}_bf16"] = Math.Round(bf16, 1);
                double modelMs = profile!.ModelSeconds * 1000 / profile.Steps, samplingMs = profile.SamplingSeconds * 1000 / profile.Steps;
                double prefillMs = profile.PrefillSeconds * 1000;
                double tensors = (double)profile.TensorsCreated / profile.Steps;
                mfuRows.Add((b, rows.Count, tokensPerSecond));
                rows.Add(($"tokens/s at batch {b} (fused, fp32)", ""));
                rows.Add(($"  decode step: model / sampling; prefill", $"{modelMs:F2} / {samplingMs:F2} ms, {tensors:N0} tensors; {prefillMs:F1} ms"));
                json[$"tokens_per_second_b{b}"] = Math.Round(tokensPerSecond, 1);
                json[$"decode_model_ms_b{b}"] = Math.Round(modelMs, 3);
                json[$"decode_sampling_ms_b{b}"] = Math.Round(samplingMs, 3);
                json[$"tensors_per_step_b{b}"] = Math.Round(tensors, 1);
                json[$"prefill_ms_b{b}"] = Math.Round(prefillMs, 2);
                if (b != 1) continue;
                // The two floors of batch 1: streaming the weights once per token (with the fastest bandwidth read of the
                // whole run, filled in below), and paying the per-op cost per call.
                double floorMs = tensors * perOp * 1000;
                boundRow = rows.Count;
                rows.Add(("  op floor at batch 1", $"{tensors:N0} ops × {perOp * 1e6:F1} µs = {floorMs:F2} ms/token"));
                json["op_floor_ms_b1"] = Math.Round(floorMs, 3);
            }
            // MFU against the fastest matmul read of the run (a peak read in a slow moment would overstate it).
            rows[peakRow] = ("matmul peak", $"{peak / 1e9:F1} GFLOP/s (fastest of {1 + sizes.Count * roundCount} reads)");
            json["matmul_peak_flops"] = Math.Round(peak);
            foreach (var (b, row, tokensPerSecond) in mfuRows)
            {
                double mfu = tokensPerSecond * flopsPerToken / peak;
                rows[row] = (rows[row].Item1, $"{tokensPerSecond:N0} (MFU {mfu:P1})");
                json[$"mfu_b{b}"] = Math.Round(mfu, 4);
            }
            rows[bandwidthRow] = ("memory bandwidth (256 MB read)", $"{bandwidth / 1e9:F1} GB/s (fastest of {1 + 2 * sizes.Count * roundCount} reads)");
            json["memory_bandwidth_bytes_per_second"] = Math.Round(bandwidth);
            if (boundRow >= 0)
            {
                double boundMs = weightBytes / bandwidth * 1000, stepMs = 1000 / json["tokens_per_second_b1"]!.GetValue<double>();
                long headBytes = (long)config.VocabSize * config.HiddenSize * sizeof(float); // the bf16 copy keeps the head in fp32
                double bf16BoundMs = ((weightBytes - headBytes) / 2 + headBytes) / bandwidth * 1000;
                double libtorchMs = 1000 / json["tokens_per_second_b1_libtorch"]!.GetValue<double>(), bf16Ms = 1000 / json["tokens_per_second_b1_bf16"]!.GetValue<double>();
                // Per round: bound ÷ seconds per token, every token (the prefill counted, as tokens/s counts it) and the
                // decode steps alone (the first token comes from the prefill's logits, so newTokens − 1 steps).
                var whole = paired.Select(p => p.BoundSeconds / (p.WallSeconds / newTokens)).Order().ToList();
                var decode = paired.Select(p => p.BoundSeconds / ((p.WallSeconds - p.PrefillSeconds) / (newTokens - 1))).Order().ToList();
                static double Median(List<double> f) => (f[(f.Count - 1) / 2] + f[f.Count / 2]) / 2;
                static string Range(List<double> f) => $"{Median(f):P0} ({f[0]:P0}–{f[^1]:P0})";
                rows.InsertRange(boundRow,
                [
                    ("  bandwidth bound at batch 1", $"{boundMs:F2} ms/token: reached {boundMs / stepMs:P0} of it ({stepMs:F2} ms/token)"),
                    ("  … each fp32 round against the reads just before and after it",
                        $"{Range(whole)} with the prompt's prefill counted, {Range(decode)} for the decode steps alone (median, range of {paired.Count})"),
                    ("  … libtorch path", $"reached {boundMs / libtorchMs:P0} of it ({libtorchMs:F2} ms/token)"),
                    ("  … fused bf16 (projections in bf16, head fp32)", $"{bf16BoundMs:F2} ms/token: reached {bf16BoundMs / bf16Ms:P0} of it ({bf16Ms:F2} ms/token)"),
                ]);
                json["bandwidth_bound_fraction_b1"] = Math.Round(boundMs / stepMs, 4);
                json["bandwidth_bound_fraction_b1_libtorch"] = Math.Round(boundMs / libtorchMs, 4);
                json["bandwidth_bound_fraction_b1_bf16"] = Math.Round(bf16BoundMs / bf16Ms, 4);
                json["bandwidth_bound_fraction_b1_paired_median"] = Math.Round(Median(whole), 4);
                json["bandwidth_bound_fraction_b1_paired_max"] = Math.Round(whole[^1], 4);
                json["bandwidth_bound_fraction_b1_decode_paired_median"] = Math.Round(Median(decode), 4);
                json["bandwidth_bound_fraction_b1_decode_paired_max"] = Math.Round(decode[^1], 4);
            }

            var (cached, recomputed) = CacheSpeedup(model, engine, Requests(1)[0].PromptIds, compared);
            rows.Add(($"KV cache speed-up ({compared} tokens, batch 1)", $"{recomputed / cached:F1}× ({cached * 1000 / compared:F1} vs {recomputed * 1000 / compared:F1} ms/token)"));
            json["kv_cache_speedup"] = Math.Round(recomputed / cached, 2);
            var (_, peakRss) = BenchCommand.Rss();
            rows.Add(("peak RSS", BenchCommand.Mib(peakRss)));
            json["peak_rss_bytes"] = peakRss;
            BenchCommand.Report("aha bench generate", rows, json);
        }));
        return command;
    }

    /// <summary>Seconds for <paramref name="count"/> greedy tokens with the engine's KV cache, and by re-running the whole sequence per token.</summary>
    static (double Cached, double Recomputed) CacheSpeedup(LlamaModel model, Engine engine, IReadOnlyList<int> prompt, int count)
    {
        var clock = Stopwatch.StartNew();
        engine.Generate([new GenerationRequest(prompt)], new SamplingOptions { Temperature = 0, MaxNewTokens = count });
        double cached = clock.Elapsed.TotalSeconds;

        using var inference = inference_mode();
        var ids = prompt.Select(i => (long)i).ToList();
        clock.Restart();
        for (int t = 0; t < count; t++)
        {
            using var scope = NewDisposeScope();
            var logits = model.LastLogits(tensor(ids.ToArray(), [1, ids.Count])); // (1, V): the full prefix, every time
            ids.Add(logits.argmax(-1).item<long>());
        }
        return (cached, clock.Elapsed.TotalSeconds);
    }
}
