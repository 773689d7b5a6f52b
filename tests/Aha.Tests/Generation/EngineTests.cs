using Aha.Generation;
using Aha.Model;
using Aha.Tests.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Tests.Generation;

public class EngineTests
{
    static readonly SamplingOptions Greedy = new() { Temperature = 0, MaxNewTokens = 12 };
    static readonly SamplingOptions Sampled = new() { Temperature = 1.0, TopK = 40, TopP = 0.9, MaxNewTokens = 12 };
    static readonly int[][] Prompts = [[1, 5, 9, 13, 17, 21, 25], [1, 40], [1, 60, 61, 62]];

    static LlamaModel NewModel() => TinyModels.Random(TinyModels.Config(bias: true));
    static List<GenerationRequest> Requests(params int[][] prompts) => prompts.Select((p, i) => new GenerationRequest(p, Seed: 100 + i)).ToList();

    [Fact]
    public void Greedy_decoding_over_the_cache_matches_full_recomputation()
    {
        using var model = NewModel();
        var completion = new Engine(model).Generate(Requests(Prompts[0]), Greedy)[0];

        using var noGrad = no_grad();
        var sequence = Prompts[0].Select(i => (long)i).ToList();
        for (int i = 0; i < completion.TokenIds.Count; i++)
        {
            using var logits = model.LastLogits(tensor(sequence.ToArray(), [1, sequence.Count])); // (1, V), no cache
            using var logp = logits.log_softmax(-1);
            long expected = logits.argmax(-1).item<long>();
            Assert.Equal(expected, completion.TokenIds[i]);
            Assert.Equal(logp[0, expected].item<float>(), completion.LogProbs[i], 1e-4);
            sequence.Add(expected);
        }
        Assert.Equal(FinishReason.Length, completion.Finish);
    }

    [Fact]
    public void A_left_padded_batch_gives_each_prompt_the_tokens_it_gets_alone()
    {
        using var model = NewModel();
        var generator = new Engine(model);
        foreach (var options in new[] { Greedy, Sampled })
        {
            var batch = generator.Generate(Requests(Prompts), options);
            for (int row = 0; row < Prompts.Length; row++)
            {
                var alone = generator.Generate([new GenerationRequest(Prompts[row], Seed: 100 + row)], options)[0];
                Assert.Equal(alone.TokenIds, batch[row].TokenIds);
                for (int i = 0; i < alone.LogProbs.Count; i++) Assert.Equal(alone.LogProbs[i], batch[row].LogProbs[i], 1e-4);
            }
        }
    }

    [Fact]
    public void Greedy_decoding_is_deterministic_and_the_same_seed_gives_the_same_samples()
    {
        using var model = NewModel();
        var generator = new Engine(model);
        Assert.Equal(Ids(generator.Generate(Requests(Prompts), Greedy)), Ids(generator.Generate(Requests(Prompts), Greedy)));
        Assert.Equal(Ids(generator.Generate(Requests(Prompts), Sampled)), Ids(generator.Generate(Requests(Prompts), Sampled)));

        var other = Prompts.Select((p, i) => new GenerationRequest(p, Seed: 900 + i)).ToList();
        Assert.NotEqual(Ids(generator.Generate(Requests(Prompts), Sampled)), Ids(generator.Generate(other, Sampled)));
    }

    [Fact]
    public void Top_k_of_one_and_a_tiny_top_p_both_reduce_to_greedy()
    {
        using var model = NewModel();
        var generator = new Engine(model);
        var greedy = Ids(generator.Generate(Requests(Prompts), Greedy));
        Assert.Equal(greedy, Ids(generator.Generate(Requests(Prompts), Sampled with { TopK = 1, TopP = 1 })));
        Assert.Equal(greedy, Ids(generator.Generate(Requests(Prompts), Sampled with { TopK = 0, TopP = 1e-6 })));
    }

    [Fact]
    public void Rows_stop_independently_on_stop_tokens_and_on_the_callers_predicate()
    {
        using var model = NewModel();
        var generator = new Engine(model);
        var free = generator.Generate(Requests(Prompts), Greedy);
        // Row 0 meets this token by its fourth step at the latest; row 2 does not within five, so its predicate stops it.
        int stopToken = free[0].TokenIds.Take(4).First(t => !free[2].TokenIds.Take(5).Contains(t));

        var stopped = generator.Generate(Requests(Prompts), Greedy with { StopTokenIds = [stopToken] }, (row, ids) => row == 2 && ids.Count == 5);
        int firstHit = free[0].TokenIds.ToList().IndexOf(stopToken);
        Assert.Equal(free[0].TokenIds.Take(firstHit + 1), stopped[0].TokenIds); // the stop token is kept
        Assert.Equal(FinishReason.Stop, stopped[0].Finish);
        Assert.Equal(free[2].TokenIds.Take(5), stopped[2].TokenIds.Take(5));
        Assert.Equal(FinishReason.Stop, stopped[2].Finish);
        Assert.True(stopped[2].TokenIds.Count <= 5);
        // Row 1 is untouched by the others stopping unless it meets the stop token itself.
        int hit1 = free[1].TokenIds.ToList().IndexOf(stopToken);
        Assert.Equal(hit1 < 0 ? free[1].TokenIds : free[1].TokenIds.Take(hit1 + 1), stopped[1].TokenIds);
        Assert.Equal(hit1 < 0, stopped[1].Truncated);
    }

    [Fact]
    public void Rows_leaving_the_batch_early_do_not_change_what_the_others_sample()
    {
        using var model = NewModel();
        var engine = new Engine(model);
        int[][] prompts = [.. Enumerable.Range(0, 8).Select(i => Prompts[i % Prompts.Length])];
        // Row i stops after i + 1 tokens, so the batch shrinks (and the cache is compacted) several times.
        var batch = engine.Generate(Requests(prompts), Sampled, (row, ids) => ids.Count == row + 1);
        for (int row = 0; row < prompts.Length; row++)
        {
            int stopAt = row + 1;
            var alone = engine.Generate([new GenerationRequest(prompts[row], Seed: 100 + row)], Sampled, (_, ids) => ids.Count == stopAt)[0];
            Assert.Equal(alone.TokenIds, batch[row].TokenIds);
            Assert.Equal(Math.Min(stopAt, Sampled.MaxNewTokens), batch[row].TokenIds.Count);
        }
    }

    [Fact]
    public void The_batched_sampler_draws_each_token_with_its_probability()
    {
        const int rows = 20_000;
        using var logits = log(tensor(new[] { 0.5f, 0.3f, 0.2f, 0f })).expand(rows, 4).contiguous(); // token 3 impossible
        var generators = Enumerable.Range(0, rows).Select(i => new Engine.SplitMix64((ulong)i)).ToArray();
        var (ids, logProbs) = Engine.Sample(logits, new SamplingOptions { Temperature = 1.0 }, [.. Enumerable.Range(0, rows)], generators, new FinishReason?[rows]);
        double[] share = [.. Enumerable.Range(0, 4).Select(t => ids.Count(id => id == t) / (double)rows)];
        Assert.Equal(0.5, share[0], 0.015); // ±0.015 is more than 4 standard errors at 20,000 draws
        Assert.Equal(0.3, share[1], 0.015);
        Assert.Equal(0.2, share[2], 0.015);
        Assert.Equal(0, share[3]);
        for (int i = 0; i < rows; i++) Assert.Equal(Math.Log(new[] { 0.5, 0.3, 0.2 }[ids[i]]), logProbs[i], 1e-5);
    }

    [Fact]
    public void Sampled_log_probs_agree_with_the_trainers_recomputation()
    {
        // What GRPO does: sample at its --temperature, then score the same tokens with the temperature it passes.
        using var model = NewModel();
        var grpo = new Aha.Training.GrpoOptions { Temperature = 0.7 };
        var options = new SamplingOptions { Temperature = grpo.Temperature, MaxNewTokens = 8 };
        var completions = new Engine(model).Generate(Requests(Prompts), options);
        for (int row = 0; row < Prompts.Length; row++)
        {
            long[] sequence = [.. Prompts[row].Select(i => (long)i), .. completions[row].TokenIds.Select(i => (long)i)];
            using var noGrad = no_grad();
            using var logProbs = Aha.Training.GrpoTrainer.ScoreTokens(model, tensor(sequence, [1, sequence.Length]), grpo); // (1, T−1)
            var recomputed = logProbs[0].data<float>().ToArray()[(Prompts[row].Length - 1)..];
            for (int i = 0; i < recomputed.Length; i++) Assert.Equal(recomputed[i], completions[row].LogProbs[i], 1e-4);
        }
    }

    [Fact]
    public void Live_tensor_count_stays_flat_across_decode_steps()
    {
        using var model = NewModel();
        var generator = new Engine(model);
        generator.Generate(Requests(Prompts), Sampled); // warm-up: lazily built tables are not leaks
        var statistics = DisposeScopeManager.Statistics;
        LiveTensors.Settle();
        long before = statistics.ThreadTotalLiveCount;
        var live = new List<long>();
        generator.Generate(Requests(Prompts), Sampled with { MaxNewTokens = 24, StopTokenIds = [] }, (row, _) =>
        {
            if (row == 0) live.Add(statistics.ThreadTotalLiveCount);
            return false;
        });
        Assert.Equal(24, live.Count);
        Assert.All(live, n => Assert.Equal(live[0], n));
        Assert.Equal(before, statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Bad_requests_fail_with_messages_that_name_the_request()
    {
        using var model = NewModel();
        var generator = new Engine(model);
        Assert.Contains("request 1: empty prompt", Assert.Throws<ArgumentException>(() => generator.Generate([new([1]), new([])], Greedy)).Message);
        Assert.Contains("outside the vocabulary", Assert.Throws<ArgumentException>(() => generator.Generate([new([1, 500])], Greedy)).Message);
        Assert.Contains("TopP", Assert.Throws<ArgumentException>(() => generator.Generate([new([1])], Greedy with { TopP = 0 })).Message);
    }

    static List<List<int>> Ids(IReadOnlyList<Completion> completions) => completions.Select(c => c.TokenIds.ToList()).ToList();
}
