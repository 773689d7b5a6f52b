using Aha.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>The DeepSeek-V3 variants as a whole: key layout, state-dict round trip, sizes, bfloat16, leaks.</summary>
public class DeepSeekV3ModelTests
{
    [Theory]
    [InlineData("v3")]
    [InlineData("mla_plain_q")]
    public void State_dict_keys_and_shapes_match_the_approved_deepseek_v3_layout(string variant)
    {
        using var model = new LlamaModel(TinyModels.Variant(variant), META);
        string received = string.Concat(model.state_dict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.shape)}]\n"));
        string approvedPath = Path.Combine(AppContext.BaseDirectory, "Model", "approved", $"deepseek_v3_{variant}.txt");
        string approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath) : "";
        if (received != approved)
        {
            string receivedPath = Path.ChangeExtension(approvedPath, ".received.txt");
            File.WriteAllText(receivedPath, received);
            Assert.Fail($"state dict differs from {approvedPath}; if the change is intended, copy {receivedPath} over tests/Aha.Tests/Model/approved/deepseek_v3_{variant}.txt.\n{received}");
        }
    }

    [Theory]
    [MemberData(nameof(TinyModels.Variants), MemberType = typeof(TinyModels))]
    public void The_state_dict_round_trips_in_memory_with_the_router_bias(string variant)
    {
        var config = TinyModels.Variant(variant);
        using var source = TinyModels.Random(config, seed: 1);
        using var ids = tensor(new long[] { 1, 17, 42, 5, 77, 3 }, [1, 6]);
        using (source.forward(ids)) { }                      // count some load, so the bias moves off zero
        source.UpdateRouterBias(0.01);
        using var target = TinyModels.Random(config, seed: 2);
        target.load_state_dict(source.state_dict());
        foreach (var (name, value) in source.state_dict())
            Assert.True(value.equal(target.state_dict()[name]).all().item<bool>(), name);
        using var noGrad = no_grad();
        using var expected = source.forward(ids);
        using var actual = target.forward(ids);
        Assert.True(actual.equal(expected).all().item<bool>());
    }

    [Theory]
    [MemberData(nameof(TinyModels.Variants), MemberType = typeof(TinyModels))]
    public void Model_size_counts_every_parameter_and_the_active_ones(string variant)
    {
        var config = TinyModels.Variant(variant);
        using var model = new LlamaModel(config, META);
        var size = ModelSize.Of(config);
        Assert.Equal(model.parameters().Sum(p => p.numel()), size.TotalParameters);
        long mtp = model.named_parameters().Where(p => p.name.StartsWith($"model.layers.{config.NumHiddenLayers}.", StringComparison.Ordinal)).Sum(p => p.parameter.numel());
        Assert.Equal(mtp, size.MtpParameters);
        // Active = everything but MTP and the routed experts a token skips: (E − K) of them in each main MoE layer.
        long skipped = config.UsesMoe
            ? (config.NumHiddenLayers - config.FirstKDenseReplace) * (config.NRoutedExperts!.Value - config.NumExpertsPerTok!.Value) * 3L * config.HiddenSize * config.MoeIntermediateSize!.Value
            : 0;
        Assert.Equal(size.TotalParameters - mtp - skipped, size.ActiveParameters);
        using var cache = new LlamaModel(config).NewCache(1, 4);
        Assert.Equal(cache.BytesPerToken, size.KvCacheBytesPerToken);
    }

    [Fact]
    public void A_bfloat16_v3_model_decodes_close_to_float32_and_keeps_its_router_bias()
    {
        using var model = TinyModels.Random(TinyModels.Variant("v3"));
        using var ids = tensor(new long[] { 1, 17, 42, 5 }, [1, 4]);
        using (model.forward(ids)) { }
        model.UpdateRouterBias(0.05);
        using var noGrad = no_grad();
        using var reference = model.forward(ids);                       // (1, 4, V) float32
        model.to(ScalarType.BFloat16);
        Assert.Contains("model.layers.1.mlp.gate.e_score_correction_bias", model.state_dict().Keys);
        using var cache = model.NewCache(1, 4);
        using var prefill = model.forward(ids.narrow(1, 0, 3), cache: cache);
        using var step = model.LastLogits(ids.narrow(1, 3, 1), cache: cache); // (1, V)
        Assert.Equal(ScalarType.BFloat16, step.dtype);
        using var diff = (step.to(ScalarType.Float32) - reference.select(1, 3)).abs().max();
        Assert.True(diff.item<float>() < 0.25f, $"bf16 vs f32 maxdiff {diff.item<float>()}");

        // The router's own field must be the converted buffer the state dict holds, or updates would go nowhere.
        const string key = "model.layers.1.mlp.gate.e_score_correction_bias";
        Assert.Equal(ScalarType.BFloat16, model.state_dict()[key].dtype);
        using var biasBefore = model.state_dict()[key].clone();
        using (enable_grad()) using (model.forward(ids)) { }
        model.UpdateRouterBias(0.05);
        Assert.False(model.state_dict()[key].equal(biasBefore).all().item<bool>());
    }

    [Fact]
    public void Live_tensor_count_stays_flat_across_training_steps()
    {
        using var model = TinyModels.Random(TinyModels.Variant("v3"));
        using var ids = tensor(new long[] { 1, 17, 42, 5, 77, 3, 64, 9 }, [2, 4]);
        using var targets = tensor(new long[] { 17, 42, 5, 77, 3, 64, 9, -100 }, [2, 4]);
        void Step()
        {
            using var scope = NewDisposeScope();
            var output = model.ForwardWithLosses(ids, targets, mtpWeight: 0.3, balanceWeight: 1e-4);
            var loss = nn.functional.cross_entropy(output.Logits.reshape(-1, model.Config.VocabSize), targets.reshape(-1)) + output.MtpLoss + output.BalanceLoss;
            loss.backward();
            model.zero_grad();
            model.UpdateRouterBias(0.001);
        }
        Step(); // warm-up: gradients are allocated once
        var statistics = DisposeScopeManager.Statistics;
        LiveTensors.Settle();
        long before = statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++) Step();
        Assert.Equal(before, statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void The_balance_loss_is_alpha_when_routing_is_uniform_and_larger_when_skewed()
    {
        using var model = TinyModels.Random(TinyModels.Variant("moe"));
        using var ids = tensor(new long[] { 1, 17, 42, 5, 77, 3, 64, 9 }, [2, 4]);
        using var targets = ids.clone();
        using var scope = NewDisposeScope();
        float loss = model.ForwardWithLosses(ids, targets, balanceWeight: 0.1).BalanceLoss.item<float>();
        // Σ f·P is 1 under perfect balance and at least ~1 in general; one MoE layer here.
        Assert.InRange(loss, 0.05f, 0.4f);
        Assert.Equal(0f, model.ForwardWithLosses(ids, targets).BalanceLoss.item<float>());
    }
}
