using Aha.Generation;
using Aha.Model;
using Aha.Tests.Model;

namespace Aha.Tests.Generation;

public class ContinuousBatcherTests
{
    static readonly SamplingOptions Greedy = new() { Temperature = 0, MaxNewTokens = 12 };
    static readonly SamplingOptions Sampled = new() { Temperature = 1.0, TopK = 40, TopP = 0.9, MaxNewTokens = 12 };
    static readonly int[][] Prompts = [[1, 5, 9, 13, 17, 21, 25], [1, 40], [1, 60, 61, 62], [1, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 3], [1]];

    static LlamaModel NewModel() => TinyModels.Random(TinyModels.Config(bias: true));

    static List<GenerationRequest> Requests(int[][] prompts) => prompts.Select((p, i) => new GenerationRequest(p, Seed: 100 + i)).ToList();

    // Submits the requests in waves: each wave joins while the previous ones are mid-decode, so prefills land in a running batch.
    static async Task<Completion[]> Staggered(ContinuousBatcher batcher, List<GenerationRequest> requests, SamplingOptions options, Func<int, StopPredicate?>? stop = null)
    {
        var streams = new List<GenerationStream>();
        for (int i = 0; i < requests.Count; i++)
        {
            streams.Add(batcher.Submit(requests[i], options, stop?.Invoke(i)));
            if (i % 2 == 1) await streams[^1].Tokens.WaitToReadAsync(); // the wave is running before the next joins
        }
        return await Task.WhenAll(streams.Select(s => s.Completion));
    }

    [Fact]
    public async Task Requests_joining_a_running_batch_get_the_greedy_tokens_of_Engine_Generate()
    {
        using var model = NewModel();
        var engine = new Engine(model);
        int[][] prompts = [.. Enumerable.Range(0, 10).Select(i => Prompts[i % Prompts.Length])];
        var requests = Requests(prompts);
        // Different lengths, so rows leave at different steps while others join.
        var options = (int i) => Greedy with { MaxNewTokens = 4 + 2 * i };
        var expected = requests.Select((r, i) => engine.Generate([r], options(i))[0]).ToList();
        using var batcher = new ContinuousBatcher(engine, maxBatch: 4);
        var streams = new List<GenerationStream>();
        for (int i = 0; i < requests.Count; i++)
        {
            streams.Add(batcher.Submit(requests[i], options(i)));
            if (i % 3 == 2) await streams[^1].Tokens.WaitToReadAsync();
        }
        for (int i = 0; i < requests.Count; i++)
        {
            var got = await streams[i].Completion;
            Assert.Equal(expected[i].TokenIds, got.TokenIds);
            Assert.Equal(expected[i].Finish, got.Finish);
            for (int t = 0; t < got.LogProbs.Count; t++) Assert.Equal(expected[i].LogProbs[t], got.LogProbs[t], 1e-4);
        }
        Assert.Equal((0, 0), batcher.Load);
    }

    [Fact]
    public async Task A_seeded_sampled_request_gets_the_tokens_it_gets_from_Engine_Generate_whatever_the_batch()
    {
        using var model = NewModel();
        var engine = new Engine(model);
        var requests = Requests(Prompts);
        var expected = engine.Generate(requests, Sampled);
        using var batcher = new ContinuousBatcher(engine, maxBatch: 3);
        var got = await Staggered(batcher, requests, Sampled);
        for (int i = 0; i < requests.Count; i++) Assert.Equal(expected[i].TokenIds, got[i].TokenIds);
        // Mixed settings in one batch: greedy rows beside sampled ones keep their own results.
        var mixed = requests.Select((r, i) => batcher.Submit(r, i % 2 == 0 ? Greedy : Sampled)).ToList();
        var greedy = engine.Generate(requests, Greedy);
        for (int i = 0; i < requests.Count; i++)
            Assert.Equal((i % 2 == 0 ? greedy : expected)[i].TokenIds, (await mixed[i].Completion).TokenIds);
    }

    [Fact]
    public async Task Stop_tokens_and_predicates_end_a_request_as_they_end_its_Engine_row()
    {
        using var model = NewModel();
        var engine = new Engine(model);
        var requests = Requests(Prompts);
        var free = engine.Generate(requests, Greedy);
        int stopToken = free[0].TokenIds[2];
        var options = Greedy with { StopTokenIds = [stopToken] };
        var expected = engine.Generate(requests, options, (row, ids) => row == 1 && ids.Count == 3);
        using var batcher = new ContinuousBatcher(engine);
        var got = await Staggered(batcher, requests, options, i => i == 1 ? (_, ids) => ids.Count == 3 : null);
        for (int i = 0; i < requests.Count; i++)
        {
            Assert.Equal(expected[i].TokenIds, got[i].TokenIds);
            Assert.Equal(expected[i].Finish, got[i].Finish);
        }
    }

    [Fact]
    public async Task A_cancelled_request_frees_its_row_and_the_others_finish_unchanged()
    {
        using var model = NewModel();
        var engine = new Engine(model);
        var requests = Requests(Prompts);
        var long_ = Greedy with { MaxNewTokens = 40 };
        var expected = engine.Generate(requests, long_);
        using var batcher = new ContinuousBatcher(engine, maxBatch: 8);
        using var cancel = new CancellationTokenSource();
        var streams = requests.Select((r, i) => batcher.Submit(r, long_, cancel: i == 2 ? cancel.Token : default)).ToList();
        await streams[2].Tokens.WaitToReadAsync();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => streams[2].Completion);
        for (int i = 0; i < requests.Count; i++)
            if (i != 2) Assert.Equal(expected[i].TokenIds, (await streams[i].Completion).TokenIds);
        Assert.Equal(1, batcher.Cancelled);
        Assert.Equal((0, 0), batcher.Load);
    }

    [Fact]
    public async Task A_full_queue_refuses_and_a_prompt_beyond_the_context_is_rejected_before_it_queues()
    {
        using var model = NewModel();
        using var batcher = new ContinuousBatcher(new Engine(model), maxBatch: 1, maxQueue: 2) { Paused = true };
        var first = batcher.Submit(new GenerationRequest(Prompts[0]), Greedy);
        var second = batcher.Submit(new GenerationRequest(Prompts[1]), Greedy);
        Assert.Throws<QueueFullException>(() => batcher.Submit(new GenerationRequest(Prompts[2]), Greedy));
        var context = model.Config.MaxPositionEmbeddings;
        var error = Assert.Throws<ArgumentException>(() => batcher.Submit(new GenerationRequest(Prompts[0]), Greedy with { MaxNewTokens = context }));
        Assert.Contains($"context of {context}", error.Message);
        batcher.Paused = false;
        Assert.Equal(12, (await first.Completion).TokenIds.Count);
        Assert.Equal(12, (await second.Completion).TokenIds.Count);
    }

    [Fact]
    public async Task Live_tensors_on_the_decode_thread_stay_flat_across_requests_joining_and_leaving()
    {
        using var model = NewModel();
        using var batcher = new ContinuousBatcher(new Engine(model), maxBatch: 4);
        var statistics = TorchSharp.DisposeScopeManager.Statistics; // per thread: the predicate runs on the decode thread
        var counts = new List<long>();
        for (int round = 0; round < 4; round++)
        {
            // Two requests join together, one leaves early; the count is read at the same point of the long one each round.
            var longOne = batcher.Submit(new GenerationRequest(Prompts[0]), Greedy, (_, ids) =>
            {
                if (ids.Count == 8) lock (counts) counts.Add(statistics.ThreadTotalLiveCount);
                return false;
            });
            var shortOne = batcher.Submit(new GenerationRequest(Prompts[1]), Greedy with { MaxNewTokens = 3 });
            await Task.WhenAll(longOne.Completion, shortOne.Completion);
        }
        Assert.Equal(4, counts.Count);
        Assert.All(counts.Skip(1), n => Assert.Equal(counts[1], n));
    }

    [Fact]
    public async Task A_request_that_ends_at_its_first_token_leaves_without_disturbing_the_running_batch()
    {
        using var model = NewModel();
        var engine = new Engine(model);
        var requests = Requests(Prompts);
        var expected = engine.Generate(requests, Greedy);
        using var batcher = new ContinuousBatcher(engine);
        var running = batcher.Submit(requests[0], Greedy);
        await running.Tokens.WaitToReadAsync();
        var single = batcher.Submit(requests[1], Greedy with { MaxNewTokens = 1 });
        var stopped = batcher.Submit(requests[2], Greedy with { StopTokenIds = [expected[2].TokenIds[0]] });
        Assert.Equal(expected[0].TokenIds, (await running.Completion).TokenIds);
        Assert.Equal(expected[1].TokenIds.Take(1), (await single.Completion).TokenIds);
        Assert.Equal(FinishReason.Length, (await single.Completion).Finish);
        Assert.Equal(expected[2].TokenIds.Take(1), (await stopped.Completion).TokenIds);
        Assert.Equal(FinishReason.Stop, (await stopped.Completion).Finish);
    }

    [Fact]
    public async Task A_request_whose_stop_predicate_throws_fails_alone_and_the_loop_serves_on()
    {
        using var model = NewModel();
        var engine = new Engine(model);
        var requests = Requests(Prompts);
        var expected = engine.Generate(requests, Greedy);
        using var batcher = new ContinuousBatcher(engine);
        var healthy = batcher.Submit(requests[0], Greedy);
        var failing = batcher.Submit(requests[1], Greedy, (_, ids) => ids.Count == 3 ? throw new InvalidDataException("bad predicate") : false);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => failing.Completion);
        Assert.Equal("bad predicate", error.Message);
        Assert.Equal(expected[0].TokenIds, (await healthy.Completion).TokenIds);
        Assert.Equal(expected[2].TokenIds, (await batcher.Submit(requests[2], Greedy).Completion).TokenIds);
        Assert.Equal((0, 0), batcher.Load);
    }
}
