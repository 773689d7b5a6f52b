using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

public class DeepSeekMoeTests
{
    static void Set(TorchSharp.torch.nn.Module module, string name, Tensor value)
    {
        using var noGrad = no_grad();
        module.state_dict()[name].copy_(value);
    }

    [Fact]
    public void One_expert_chosen_top_1_is_the_dense_mlp_with_the_same_weights()
    {
        var dense = TinyModels.Config();
        var moe = dense with { NRoutedExperts = 1, NumExpertsPerTok = 1, NSharedExperts = 0, MoeIntermediateSize = dense.IntermediateSize };
        using var plain = TinyModels.Random(dense);
        using var routed = new LlamaModel(moe);
        var source = plain.state_dict();
        foreach (var (name, p) in routed.state_dict())
        {
            string from = name.Replace(".mlp.experts.0.", ".mlp.", StringComparison.Ordinal);
            if (source.TryGetValue(from, out var weight)) Set(routed, name, weight);
            else Assert.Contains(".mlp.gate.", name); // the router: with one expert its normalised gate is exactly 1
        }
        using var noGrad = no_grad();
        using var ids = tensor(new long[] { 1, 17, 42, 5, 77, 3, 64, 9 }, [2, 4]);
        using var expected = plain.forward(ids);
        using var actual = routed.forward(ids);
        Assert.True(actual.allclose(expected, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void Routing_picks_the_top_k_of_score_plus_bias_but_gates_by_score_alone()
    {
        var config = TinyModels.Config() with { NRoutedExperts = 4, NumExpertsPerTok = 2, MoeIntermediateSize = 8, RoutedScalingFactor = 2.5 };
        using var router = new TopkRouter(config, null);
        float[] logits = [2f, 1f, 0f, -1f];                   // expert affinities for x = e₀: σ(2) > σ(1) > σ(0) > σ(−1)
        using var weight = zeros(4, 32);
        weight.select(1, 0).copy_(tensor(logits));
        Set(router, "weight", weight);
        Set(router, "e_score_correction_bias", tensor(new float[] { 0f, 0f, 5f, 0f })); // lifts expert 2 over expert 1
        using var x = zeros(1, 32);
        x[0, 0] = 1;
        using var noGrad = no_grad();
        var (indices, gates, scores) = router.forward(x);
        var chosen = indices[0].data<long>().ToArray();
        Assert.Equal([0L, 2L], chosen.Order().ToArray());
        double s0 = 1 / (1 + Math.Exp(-2)), s2 = 0.5;     // gates from σ(logit) alone, normalised over the chosen, × 2.5
        for (int k = 0; k < 2; k++)
        {
            double expected = 2.5 * (chosen[k] == 0 ? s0 : s2) / (s0 + s2);
            Assert.Equal(expected, gates[0, k].item<float>(), 5);
        }
        Assert.Equal(s2, scores[0, 2].item<float>(), 6);
        indices.Dispose(); gates.Dispose(); scores.Dispose();
    }

    [Fact]
    public void Without_normalisation_the_gates_are_the_raw_sigmoid_affinities()
    {
        var config = TinyModels.Config() with { NRoutedExperts = 3, NumExpertsPerTok = 2, MoeIntermediateSize = 8, NormTopkProb = false };
        using var router = new TopkRouter(config, null);
        using var noGrad = no_grad();
        foreach (var p in router.parameters()) p.normal_(0, 0.3); // built alone, so LlamaModel's initialisation never ran
        using var x = randn(5, 32);
        var (indices, gates, scores) = router.forward(x);
        using var expected = scores.gather(1, indices);
        Assert.True(gates.allclose(expected));
        indices.Dispose(); gates.Dispose(); scores.Dispose();
    }

    [Fact]
    public void Batching_by_expert_gives_the_per_token_sum_of_gated_experts_plus_the_shared_expert()
    {
        manual_seed(3);
        var config = TinyModels.Config() with { NRoutedExperts = 5, NumExpertsPerTok = 2, MoeIntermediateSize = 8, NSharedExperts = 2, RoutedScalingFactor = 1.7 };
        using var moe = new DeepSeekMoe(config, null);
        foreach (var p in moe.parameters()) using (no_grad()) p.normal_(0, 0.3);
        var state = moe.state_dict();
        Tensor Mlp(string prefix, Tensor v) => // v (C) → (C), SwiGLU from the state dict
            state[$"{prefix}.down_proj.weight"].matmul(
                nn.functional.silu(state[$"{prefix}.gate_proj.weight"].matmul(v)) * state[$"{prefix}.up_proj.weight"].matmul(v));

        using var noGrad = no_grad();
        using var x = randn(2, 6, 32);                                     // (B, T, C)
        using var actual = moe.forward(x);
        using var flat = x.reshape(-1, 32);
        var (indices, gates, _) = moe.Router.forward(flat);                // (N, K)
        for (int n = 0; n < 12; n++)
        {
            using var scope = NewDisposeScope();
            var expected = Mlp("shared_experts", flat[n]);
            for (int k = 0; k < 2; k++) expected = expected + gates[n, k] * Mlp($"experts.{indices[n, k].item<long>()}", flat[n]);
            Assert.True(actual.reshape(-1, 32)[n].allclose(expected, rtol: 0, atol: 1e-5), $"token {n}");
        }
    }

    [Fact]
    public void The_bias_moves_toward_balance_on_a_skewed_router()
    {
        manual_seed(5);
        var config = TinyModels.Config() with { NRoutedExperts = 4, NumExpertsPerTok = 1, MoeIntermediateSize = 8, NSharedExperts = 0 };
        using var moe = new DeepSeekMoe(config, null);
        foreach (var p in moe.parameters()) using (no_grad()) p.normal_(0, 0.02);
        using var skew = randn(4, 32) * 0.1;
        skew.select(1, 0).add_(tensor(new float[] { 2f, 0f, 0f, 0f }));   // expert 0 wins for nearly every token with x₀ ≈ 1
        Set(moe, "gate.weight", skew);
        using var x = randn(1, 256, 32) * 0.5;
        x.select(2, 0).fill_(1);
        double MaxOverMean()
        {
            using var output = moe.forward(x);                             // autograd on: the load is counted
            return new ExpertLoad(0, moe.Router.Load).MaxOverMean;
        }
        double before = MaxOverMean();
        moe.Router.UpdateBias(0);                                          // γ = 0 only reads and resets the counts
        double after = before;
        for (int step = 0; step < 200; step++)
        {
            after = MaxOverMean();
            moe.Router.UpdateBias(0.01);
        }
        Assert.True(before > 3, $"the toy router should start skewed (max/mean {before:F2})");
        Assert.True(after < 1.3, $"max/mean load went from {before:F2} to {after:F2}");
        var bias = moe.state_dict()["gate.e_score_correction_bias"].data<float>().ToArray();
        Assert.Equal(bias.Min(), bias[0]);                                 // the overloaded expert was pushed down
    }

    [Fact]
    public void Loads_are_counted_only_while_autograd_is_on_and_the_bias_is_no_parameter()
    {
        using var model = TinyModels.Random(TinyModels.Variant("moe"));
        using var ids = tensor(new long[] { 1, 17, 42, 5, 77, 3 }, [1, 6]);
        using (no_grad()) using (model.forward(ids)) { }
        Assert.All(model.ExpertLoads(), load => Assert.Equal(0, load.TokensPerExpert.Sum()));
        using (model.forward(ids)) { }
        var loads = model.UpdateRouterBias(0.001);
        Assert.Equal([1], loads.Select(l => l.Layer));                    // layer 0 is dense (first_k_dense_replace = 1)
        Assert.Equal(6 * 2, loads[0].TokensPerExpert.Sum());              // every token reaches its top-2: nothing dropped
        Assert.All(model.ExpertLoads(), load => Assert.Equal(0, load.TokensPerExpert.Sum()));
        Assert.DoesNotContain(model.named_parameters(), p => p.name.Contains("e_score_correction_bias"));
        Assert.Contains("model.layers.1.mlp.gate.e_score_correction_bias", model.state_dict().Keys);
        Assert.NotEqual(0f, model.state_dict()["model.layers.1.mlp.gate.e_score_correction_bias"].abs().sum().item<float>());
    }
}
