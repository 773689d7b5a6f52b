using System.Diagnostics;
using Aha.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Generation;

/// <summary>
/// Batched sampling over a KV cache, in token ids only. Prompts of different lengths are left-padded into one batch.
/// Rows finish independently: a finished row is fed pad tokens until a quarter of the batch has finished, then the
/// finished rows leave the batch and the cache. Each row draws from its own seeded generator on the host, and one
/// inverse-CDF pass samples the whole batch, so a row's output does not depend on the rest of the batch and a step
/// costs a few tensor ops however many rows it has.
/// </summary>
public sealed class Engine(LlamaModel model)
{
    readonly int _pad = model.Config.PadTokenId ?? model.Config.EosTokenId;

    /// <summary>The model this engine decodes with.</summary>
    public LlamaModel Model => model;

    /// <summary>When set, decode steps add their timings to it (for benchmarks).</summary>
    public DecodeProfile? Profile { get; set; }

    /// <summary>Continues every request; results are in request order.</summary>
    /// <param name="stop">optional per-token check, e.g. for stop strings; see <see cref="StopPredicate"/></param>
    public IReadOnlyList<Completion> Generate(IReadOnlyList<GenerationRequest> requests, SamplingOptions options, StopPredicate? stop = null)
    {
        options.Validate();
        if (requests.Count == 0) return [];
        Validate(requests);
        int b = requests.Count;
        int[] promptLengths = requests.Select(r => r.PromptIds.Count).ToArray();
        int width = promptLengths.Max();                        // P: prompts are left-padded to this
        int capacity = width + options.MaxNewTokens - 1;        // the last sampled token is never fed back
        var device = model.parameters().First().device;

        var tokens = Enumerable.Range(0, b).Select(_ => new List<int>()).ToArray();
        var logProbs = Enumerable.Range(0, b).Select(_ => new List<float>()).ToArray();
        var finish = new FinishReason?[b];
        var generators = requests.Select(r => new SplitMix64(unchecked((ulong)r.Seed))).ToArray();
        int[] live = Enumerable.Range(0, b).ToArray();                          // the request behind each cache row
        using var inference = inference_mode();
        using var cache = model.NewCache(b, capacity);
        var mask = AttentionMask(promptLengths, width, capacity, device);       // (rows, capacity) 1 = real slot
        try
        {
            (long[] Ids, float[] LogProbs) next;                                // per cache row
            long prefillStarted = Stopwatch.GetTimestamp();
            using (var scope = NewDisposeScope())
            {
                var ids = tensor(LeftPadded(requests, width), [b, width], device: device); // (B, P)
                var prompt = mask.narrow(1, 0, width);
                var positions = (prompt.cumsum(-1) - 1).clamp_min(0);                        // (B, P)
                next = Sample(model.LastLogits(ids, positions, prompt, cache), options, live, generators, finish);
            }
            if (Profile is { } timedPrefill) timedPrefill.PrefillSeconds += Stopwatch.GetElapsedTime(prefillStarted).TotalSeconds;
            for (int step = 0; ; step++)
            {
                for (int i = 0; i < live.Length; i++)
                {
                    int row = live[i];
                    if (finish[row] is not null) continue;
                    int id = (int)next.Ids[i];
                    tokens[row].Add(id);
                    logProbs[row].Add(next.LogProbs[i]);
                    if (options.StopTokenIds.Contains(id) || (stop?.Invoke(row, tokens[row]) ?? false)) finish[row] = FinishReason.Stop;
                    else if (tokens[row].Count == options.MaxNewTokens) finish[row] = FinishReason.Length;
                }
                int finished = live.Count(row => finish[row] is not null);
                if (finished == live.Length) break;
                if (finished * 4 >= live.Length) // a quarter of the rows only carry pads: drop them from the cache and the batch
                {
                    var keep = Enumerable.Range(0, live.Length).Where(i => finish[live[i]] is null).ToArray();
                    cache.SelectRows(keep.Select(i => (long)i).ToArray());
                    using (var index = tensor(keep.Select(i => (long)i).ToArray(), device: device))
                    {
                        var kept = mask.index_select(0, index);
                        mask.Dispose();
                        mask = kept;
                    }
                    next = (keep.Select(i => next.Ids[i]).ToArray(), keep.Select(i => next.LogProbs[i]).ToArray());
                    live = keep.Select(i => live[i]).ToArray();
                }

                using var scope = NewDisposeScope();
                var fed = live.Select((row, i) => finish[row] is null ? next.Ids[i] : _pad).ToArray();
                var ids = tensor(fed, [live.Length, 1], device: device);                                        // (rows, 1)
                var positions = tensor(live.Select(row => (long)(promptLengths[row] + step)).ToArray(), [live.Length, 1], device: device);
                var profile = Profile;
                long started = Stopwatch.GetTimestamp(), tensors = profile is null ? 0 : CreatedTensors();
                var logits = model.LastLogits(ids, positions, mask.narrow(1, 0, width + step + 1), cache);     // (rows, V)
                long forwarded = Stopwatch.GetTimestamp();
                next = Sample(logits, options, live, generators, finish);
                if (profile is not null)
                {
                    profile.Steps++;
                    profile.ModelSeconds += Stopwatch.GetElapsedTime(started, forwarded).TotalSeconds;
                    profile.SamplingSeconds += Stopwatch.GetElapsedTime(forwarded).TotalSeconds;
                    profile.TensorsCreated += CreatedTensors() - tensors;
                }
            }
        }
        finally
        {
            mask.Dispose();
        }
        return Enumerable.Range(0, b).Select(row => new Completion(tokens[row], logProbs[row], finish[row]!.Value)).ToList();
    }

    /// <summary>One token per unfinished row (pad for finished rows) and its log-probability, read to the host once.</summary>
    internal static (long[] Ids, float[] LogProbs) Sample(Tensor logits /* (rows, V) */, SamplingOptions options, int[] live, SplitMix64[] generators, FinishReason?[] finish) =>
        Sample(logits, options, live, generators, finish, 0, out _);

    /// <summary>
    /// As above, and with <paramref name="alternatives"/> &gt; 0 each row's most likely tokens of the distribution it drew
    /// from (the model's own at temperature 0, else after temperature, top-k and top-p), most likely first.
    /// </summary>
    internal static (long[] Ids, float[] LogProbs) Sample(Tensor logits, SamplingOptions options, int[] live, SplitMix64[] generators, FinishReason?[] finish,
        int alternatives, out GeneratedToken[][]? top)
    {
        using var scope = NewDisposeScope();
        var logp = options.Temperature == 0 ? logits.to(float32).log_softmax(-1) : Sampling.LogProbs(logits, options); // (B, V)
        Tensor ids;                                                          // (B)
        if (options.Temperature == 0) ids = logits.argmax(-1);
        else
        {
            // Inverse CDF: the first token whose cumulative mass reaches u·total, u ∈ (0, 1] from the row's own generator.
            // A token of zero probability never qualifies (its cumulative mass equals the one before it).
            var cdf = logp.exp().cumsum(-1);                                 // (B, V)
            var draws = live.Select(row => finish[row] is null ? (float)(1 - generators[row].NextDouble()) : 1f).ToArray();
            var threshold = tensor(draws, [draws.Length, 1], device: logits.device) * cdf.narrow(-1, cdf.shape[1] - 1, 1);
            ids = cdf.lt(threshold).sum(-1).clamp_max(cdf.shape[1] - 1);    // (B) int64
        }
        var chosen = logp.gather(-1, ids.unsqueeze(-1)).squeeze(-1);        // (B)
        top = null;
        if (alternatives > 0)
        {
            int k = (int)Math.Min(alternatives, logp.shape[1]);
            var (values, indices) = logp.topk(k);                            // (B, k), most likely first
            float[] v = values.data<float>().ToArray();
            long[] t = indices.data<long>().ToArray();
            top = [.. Enumerable.Range(0, (int)logp.shape[0]).Select(r => Enumerable.Range(r * k, k).Select(i => new GeneratedToken((int)t[i], v[i])).ToArray())];
        }
        return (ids.data<long>().ToArray(), chosen.data<float>().ToArray());
    }

    /// <summary>SplitMix64 (Steele, Lea and Flood 2014): a seeded stream of uniform doubles, the same on every platform.</summary>
    internal sealed class SplitMix64(ulong seed)
    {
        ulong _state = seed;

        public double NextDouble()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return ((z ^ (z >> 31)) >> 11) * (1.0 / (1UL << 53));             // [0, 1)
        }
    }

    static long CreatedTensors()
    {
        var statistics = DisposeScopeManager.Statistics;
        return statistics.CreatedInScopeCount + statistics.CreatedOutsideScopeCount;
    }

    internal void Validate(IReadOnlyList<GenerationRequest> requests)
    {
        int vocab = model.Config.VocabSize;
        for (int i = 0; i < requests.Count; i++)
        {
            var prompt = requests[i].PromptIds;
            if (prompt.Count == 0) throw new ArgumentException($"request {i}: empty prompt; give at least one token (e.g. bos).", nameof(requests));
            if (prompt.Any(id => id < 0 || id >= vocab))
                throw new ArgumentException($"request {i}: token id {prompt.First(id => id < 0 || id >= vocab)} is outside the vocabulary [0, {vocab}).", nameof(requests));
        }
    }

    internal long[] LeftPadded(IReadOnlyList<GenerationRequest> requests, int width)
    {
        var flat = new long[requests.Count * width];
        for (int row = 0; row < requests.Count; row++)
        {
            var prompt = requests[row].PromptIds;
            int offset = row * width + width - prompt.Count;
            flat.AsSpan(row * width, width - prompt.Count).Fill(_pad);
            for (int i = 0; i < prompt.Count; i++) flat[offset + i] = prompt[i];
        }
        return flat;
    }

    internal static Tensor AttentionMask(int[] promptLengths, int width, int capacity, Device device)
    {
        var flat = new long[promptLengths.Length * capacity];
        for (int row = 0; row < promptLengths.Length; row++)
            flat.AsSpan(row * capacity + width - promptLengths[row], capacity - width + promptLengths[row]).Fill(1);
        return tensor(flat, [promptLengths.Length, capacity], device: device);
    }
}
