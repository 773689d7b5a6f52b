using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

public class MultiTokenPredictionTests
{
    static readonly long[] Sequence = [1, 17, 42, 5, 77, 3, 64, 9, 31, 12, 2, 0];

    static (Tensor Ids, Tensor Targets) Batch()
    {
        var ids = tensor(Sequence[..^1], [1, Sequence.Length - 1]);                 // (1, T)
        var targets = tensor(Sequence[1..], [1, Sequence.Length - 1]);              // (1, T) next tokens
        targets[0, -1] = -100;                                                      // a pad target is ignored
        return (ids, targets);
    }

    [Theory]
    [InlineData("mtp")]
    [InlineData("v3")]
    public void At_weight_zero_the_mtp_model_is_the_plain_model(string variant)
    {
        var config = TinyModels.Variant(variant);
        using var withMtp = TinyModels.Random(config);
        using var plain = new LlamaModel(config with { NumNextnPredictLayers = 0 });
        var source = withMtp.state_dict();
        using (no_grad())
            foreach (var (name, p) in plain.state_dict()) p.copy_(source[name]);
        var (ids, targets) = Batch();
        using var _ = ids;
        using var __ = targets;

        var output = withMtp.ForwardWithLosses(ids, targets, mtpWeight: 0);
        using var logits = plain.forward(ids);
        Assert.True(output.Logits.allclose(logits, rtol: 0, atol: 1e-6));
        Assert.Equal(0f, output.MtpLoss.item<float>());
        Assert.Equal(0f, output.BalanceLoss.item<float>());

        using var loss = nn.functional.cross_entropy(output.Logits.reshape(-1, config.VocabSize), targets.reshape(-1)) + output.MtpLoss;
        using var plainLoss = nn.functional.cross_entropy(logits.reshape(-1, config.VocabSize), targets.reshape(-1));
        loss.backward();
        plainLoss.backward();
        var plainParameters = plain.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in withMtp.named_parameters())
        {
            if (plainParameters.TryGetValue(name, out var twin)) Assert.True(p.grad!.allclose(twin.grad!, rtol: 0, atol: 1e-6), name);
            else Assert.True(p.grad is null || p.grad.abs().max().item<float>() == 0, $"{name} learns at λ = 0");
        }
        output.Logits.Dispose(); output.MtpLoss.Dispose(); output.BalanceLoss.Dispose();
    }

    [Fact]
    public void The_mtp_loss_scales_with_its_weight_and_trains_the_module_and_the_shared_embedding()
    {
        using var model = TinyModels.Random(TinyModels.Variant("mtp"));
        var (ids, targets) = Batch();
        using var _ = ids;
        using var __ = targets;
        float Loss(double weight)
        {
            using var scope = NewDisposeScope();
            return model.ForwardWithLosses(ids, targets, mtpWeight: weight).MtpLoss.item<float>();
        }
        float one = Loss(1.0);
        Assert.True(one > 1f, $"an untrained MTP module predicts poorly (loss {one})");
        Assert.Equal(0.3f * one, Loss(0.3), 5);

        using var scope = NewDisposeScope();
        model.ForwardWithLosses(ids, targets, mtpWeight: 1.0).MtpLoss.backward();
        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        Assert.True(grads["model.layers.2.eh_proj.weight"]!.abs().sum().item<float>() > 0);
        Assert.True(grads["model.embed_tokens.weight"]!.abs().sum().item<float>() > 0);
        Assert.True(grads["model.layers.1.mlp.up_proj.weight"]!.abs().sum().item<float>() > 0); // through h⁰ into the main model
    }

    [Fact]
    public void The_mtp_module_predicts_token_i_plus_2_from_position_i()
    {
        // Position i reads h_i (tokens ≤ i) and the embedding of token i+1 (targets[i]) and predicts targets[i+1], for
        // i ≤ T−2. The last input token reaches only h_{T−1}, which has no target two ahead: the loss must ignore it.
        using var model = TinyModels.Random(TinyModels.Variant("mtp"));
        var (ids, targets) = Batch();
        using var _ = ids;
        using var __ = targets;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var output = model.ForwardWithLosses(ids, targets, mtpWeight: 1.0);
        var changed = ids.clone();
        changed[0, -1] = 50;
        var other = model.ForwardWithLosses(changed, targets, mtpWeight: 1.0);
        Assert.Equal(output.MtpLoss.item<float>(), other.MtpLoss.item<float>(), 6);
        // An earlier input token reaches every later h, so it does change the loss.
        var early = ids.clone();
        early[0, 3] = 50;
        var moved = model.ForwardWithLosses(early, targets, mtpWeight: 1.0);
        Assert.NotEqual(output.MtpLoss.item<float>(), moved.MtpLoss.item<float>());
    }
}
