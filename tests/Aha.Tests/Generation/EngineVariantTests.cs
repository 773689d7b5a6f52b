using Aha.Generation;
using Aha.Model;
using Aha.Tests.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Tests.Generation;

/// <summary>The engine over every architecture variant: it sees only LlamaModel and its cache.</summary>
public class EngineVariantTests
{
    static readonly SamplingOptions Greedy = new() { Temperature = 0, MaxNewTokens = 10 };
    static readonly SamplingOptions Sampled = new() { Temperature = 1.0, TopK = 40, MaxNewTokens = 10 };
    static readonly int[][] Prompts = [[1, 5, 9, 13, 17, 21, 25], [1, 40], [1, 60, 61, 62]];

    static List<GenerationRequest> Requests(params int[][] prompts) => prompts.Select((p, i) => new GenerationRequest(p, Seed: 100 + i)).ToList();

    [Theory]
    [MemberData(nameof(TinyModels.Variants), MemberType = typeof(TinyModels))]
    public void Greedy_decoding_over_the_cache_matches_full_recomputation(string variant)
    {
        using var model = TinyModels.Random(TinyModels.Variant(variant));
        var completion = new Engine(model).Generate(Requests(Prompts[0]), Greedy)[0];
        using var noGrad = no_grad();
        var sequence = Prompts[0].Select(i => (long)i).ToList();
        for (int i = 0; i < completion.TokenIds.Count; i++)
        {
            using var logits = model.LastLogits(tensor(sequence.ToArray(), [1, sequence.Count])); // (1, V), no cache
            long expected = logits.argmax(-1).item<long>();
            Assert.Equal(expected, completion.TokenIds[i]);
            sequence.Add(expected);
        }
        Assert.All(model.ExpertLoads(), load => Assert.Equal(0, load.TokensPerExpert.Sum())); // sampling does not steer the balance
    }

    [Theory]
    [InlineData("mla")]
    [InlineData("v3")]
    public void A_left_padded_batch_gives_each_prompt_the_tokens_it_gets_alone(string variant)
    {
        using var model = TinyModels.Random(TinyModels.Variant(variant));
        var engine = new Engine(model);
        var batch = engine.Generate(Requests(Prompts), Sampled);
        for (int row = 0; row < Prompts.Length; row++)
            Assert.Equal(engine.Generate([new GenerationRequest(Prompts[row], Seed: 100 + row)], Sampled)[0].TokenIds, batch[row].TokenIds);
    }

    [Fact]
    public void Live_tensor_count_stays_flat_across_decode_steps_of_a_v3_model()
    {
        using var model = TinyModels.Random(TinyModels.Variant("v3"));
        var engine = new Engine(model);
        engine.Generate(Requests(Prompts), Sampled); // warm-up
        var statistics = DisposeScopeManager.Statistics;
        LiveTensors.Settle();
        long before = statistics.ThreadTotalLiveCount;
        var live = new List<long>();
        engine.Generate(Requests(Prompts), Sampled with { MaxNewTokens = 16, StopTokenIds = [] }, (row, _) =>
        {
            if (row == 0) live.Add(statistics.ThreadTotalLiveCount);
            return false;
        });
        Assert.All(live, n => Assert.Equal(live[0], n));
        Assert.Equal(before, statistics.ThreadTotalLiveCount);
    }
}
