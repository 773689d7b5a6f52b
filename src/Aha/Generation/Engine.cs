using Aha.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Generation;

/// <summary>
/// Batched sampling over a KV cache, in token ids only. Prompts of different lengths are left-padded into one batch;
/// rows finish independently (a finished row is fed pad tokens and ignored) and each row draws from its own seeded
/// generator, so a row's output does not depend on the rest of the batch.
/// </summary>
public sealed class Engine(LlamaModel model)
{
    readonly int _pad = model.Config.PadTokenId ?? model.Config.EosTokenId;

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
        var generators = requests.Select(r => new torch.Generator(unchecked((ulong)r.Seed), device)).ToArray();
        try
        {
            using var inference = inference_mode();
            using var cache = model.NewCache(b, capacity);
            using var mask = AttentionMask(promptLengths, width, capacity, device); // (B, capacity) 1 = real slot
            (long[] Ids, float[] LogProbs) next;
            using (var scope = NewDisposeScope())
            {
                var ids = tensor(LeftPadded(requests, width), [b, width], device: device); // (B, P)
                var prompt = mask.narrow(1, 0, width);
                var positions = (prompt.cumsum(-1) - 1).clamp_min(0);                        // (B, P)
                next = Sample(model.LastLogits(ids, positions, prompt, cache), options, generators, finish);
            }
            for (int step = 0; ; step++)
            {
                for (int row = 0; row < b; row++)
                {
                    if (finish[row] is not null) continue;
                    int id = (int)next.Ids[row];
                    tokens[row].Add(id);
                    logProbs[row].Add(next.LogProbs[row]);
                    if (options.StopTokenIds.Contains(id) || (stop?.Invoke(row, tokens[row]) ?? false)) finish[row] = FinishReason.Stop;
                    else if (tokens[row].Count == options.MaxNewTokens) finish[row] = FinishReason.Length;
                }
                if (finish.All(f => f is not null)) break;

                using var scope = NewDisposeScope();
                var fed = next.Ids.Select((id, row) => finish[row] is null ? id : _pad).ToArray();
                var ids = tensor(fed, [b, 1], device: device);                                        // (B, 1)
                var positions = tensor(promptLengths.Select(n => (long)(n + step)).ToArray(), [b, 1], device: device); // (B, 1)
                var logits = model.LastLogits(ids, positions, mask.narrow(1, 0, width + step + 1), cache); // (B, V)
                next = Sample(logits, options, generators, finish);
            }
        }
        finally
        {
            foreach (var g in generators) g.Dispose();
        }
        return Enumerable.Range(0, b).Select(row => new Completion(tokens[row], logProbs[row], finish[row]!.Value)).ToList();
    }

    /// <summary>One token per unfinished row (pad for finished rows) and its log-probability, read to the host once.</summary>
    static (long[] Ids, float[] LogProbs) Sample(Tensor logits /* (B, V) */, SamplingOptions options, torch.Generator[] generators, FinishReason?[] finish)
    {
        using var scope = NewDisposeScope();
        Tensor logp, ids;                                                    // (B, V), (B)
        if (options.Temperature == 0)
        {
            logp = logits.to(float32).log_softmax(-1);
            ids = logits.argmax(-1);
        }
        else
        {
            logp = Sampling.LogProbs(logits, options);
            var probs = logp.exp();
            // One multinomial per row with the row's own generator: batch-independent by construction.
            var drawn = new long[finish.Length];
            for (int row = 0; row < drawn.Length; row++)
                if (finish[row] is null) drawn[row] = probs[row].multinomial(1, generator: generators[row]).item<long>();
            ids = tensor(drawn, device: logits.device);
        }
        var chosen = logp.gather(-1, ids.unsqueeze(-1)).squeeze(-1);        // (B)
        return (ids.data<long>().ToArray(), chosen.data<float>().ToArray());
    }

    void Validate(IReadOnlyList<GenerationRequest> requests)
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

    long[] LeftPadded(IReadOnlyList<GenerationRequest> requests, int width)
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

    static Tensor AttentionMask(int[] promptLengths, int width, int capacity, Device device)
    {
        var flat = new long[promptLengths.Length * capacity];
        for (int row = 0; row < promptLengths.Length; row++)
            flat.AsSpan(row * capacity + width - promptLengths[row], capacity - width + promptLengths[row]).Fill(1);
        return tensor(flat, [promptLengths.Length, capacity], device: device);
    }
}
