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
        var threads = new Option<int>("--threads") { Description = "CPU threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var command = new Command("generate", "Generation speed of the 25.6M-parameter model: prompt 64, 256 new tokens, at several batch sizes; KV cache versus recomputation; decode step split into model and sampling.")
        {
            batches, quick, threads,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            TorchRuntime.Initialize(r.GetValue(threads));
            bool small = r.GetValue(quick);
            var sizes = (small ? "1,8" : r.GetValue(batches)!).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(s => int.TryParse(s, out int b) && b > 0 ? b : throw new ArgumentException($"--batches: '{s}' is not a positive integer.")).ToList();
            int promptLength = small ? 16 : 64, newTokens = small ? 32 : 256, compared = small ? 16 : 32;
            var config = ModelPresets.Get(small ? "small" : "base", promptLength + newTokens);
            double peak = MatmulPeak.Measure();
            manual_seed(0);
            using var model = new LlamaModel(config);
            model.eval();
            long parameters = model.parameters().Sum(p => p.numel());
            double flopsPerToken = Flops.InferencePerToken(config, parameters);
            var engine = new Engine(model);
            var random = new Random(0);
            List<GenerationRequest> Requests(int b) =>
                Enumerable.Range(0, b).Select(i => new GenerationRequest(Enumerable.Range(0, promptLength).Select(_ => random.Next(0, 256)).ToArray(), i)).ToList();
            // No stop tokens: every row generates exactly newTokens, so the token counts are known.
            var sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = newTokens };
            engine.Generate(Requests(1), sampling with { MaxNewTokens = 4 }); // warm-up

            var rows = new List<(string, string)>
            {
                ("model", $"{config.NumHiddenLayers} layers, d {config.HiddenSize}, {parameters:N0} parameters"),
                ("prompt, new tokens, threads", $"{promptLength}, {newTokens}, {get_num_threads()}"),
                ("matmul peak", $"{peak / 1e9:F1} GFLOP/s"),
            };
            var json = new JsonObject
            {
                ["bench"] = "generate", ["quick"] = small, ["parameters"] = parameters, ["prompt_tokens"] = promptLength, ["new_tokens"] = newTokens,
                ["threads"] = get_num_threads(), ["matmul_peak_flops"] = Math.Round(peak),
            };
            double lastMfu = 0;
            foreach (int b in sizes)
            {
                var requests = Requests(b);
                var clock = Stopwatch.StartNew();
                engine.Generate(requests, sampling);
                double tokensPerSecond = (double)b * newTokens / clock.Elapsed.TotalSeconds;
                lastMfu = tokensPerSecond * flopsPerToken / peak;
                rows.Add(($"tokens/s at batch {b}", $"{tokensPerSecond:N0} (MFU {lastMfu:P1})"));
                json[$"tokens_per_second_b{b}"] = Math.Round(tokensPerSecond, 1);
                json[$"mfu_b{b}"] = Math.Round(lastMfu, 4);
            }

            var (cached, recomputed) = CacheSpeedup(model, engine, Requests(1)[0].PromptIds, compared);
            rows.Add(($"KV cache speed-up ({compared} tokens, batch 1)", $"{recomputed / cached:F1}× ({cached * 1000 / compared:F1} vs {recomputed * 1000 / compared:F1} ms/token)"));
            json["kv_cache_speedup"] = Math.Round(recomputed / cached, 2);
            var (modelMs, samplingMs) = DecodeSplit(model, Requests(8), compared);
            rows.Add(("decode step at batch 8: model / sampling", $"{modelMs:F2} / {samplingMs:F2} ms"));
            json["decode_model_ms_b8"] = Math.Round(modelMs, 3);
            json["decode_sampling_ms_b8"] = Math.Round(samplingMs, 3);
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

    /// <summary>Mean milliseconds per decode step in the model forward and in sampling (softmax, multinomial, copy to host).</summary>
    static (double ModelMs, double SamplingMs) DecodeSplit(LlamaModel model, IReadOnlyList<GenerationRequest> requests, int steps)
    {
        using var inference = inference_mode();
        int b = requests.Count, p = requests[0].PromptIds.Count;
        using var cache = model.NewCache(b, p + steps);
        var prompt = requests.SelectMany(r => r.PromptIds.Select(i => (long)i)).ToArray();
        long[] next;
        using (var scope = NewDisposeScope()) next = model.LastLogits(tensor(prompt, [b, p]), cache: cache).argmax(-1).data<long>().ToArray();
        double modelSeconds = 0, samplingSeconds = 0;
        var clock = new Stopwatch();
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            clock.Restart();
            var logits = model.LastLogits(tensor(next, [b, 1]), cache: cache); // (B, V)
            modelSeconds += clock.Elapsed.TotalSeconds;
            clock.Restart();
            next = logits.log_softmax(-1).exp().multinomial(1).squeeze(-1).data<long>().ToArray();
            samplingSeconds += clock.Elapsed.TotalSeconds;
        }
        return (modelSeconds * 1000 / steps, samplingSeconds * 1000 / steps);
    }
}
