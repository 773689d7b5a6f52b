using Aha.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

public class GrpoLossTests
{
    // A fixed example worked by hand: two samples of three tokens, the first sample's last token masked.
    static readonly float[,] LogP = { { -1, -2, -3 }, { -1, -1, -1 } };
    static readonly float[,] OldLogP = { { -1.5f, -2, -2 }, { -1, -0.5f, -1 } };
    static readonly float[,] RefLogP = { { -1, -1, -1 }, { -2, -2, -2 } };
    static readonly float[] Adv = { 1, -1 };
    static readonly float[,] Mask = { { 1, 1, 0 }, { 1, 1, 1 } };
    const float EpsLow = 0.2f, EpsHigh = 0.28f, Beta = 0.1f;

    // Per-token losses −min(ρA, clip(ρ)A) + β·k3, by hand:
    // sample 0 (A = +1): ρ = e^0.5 → clipped to 1.28; ρ = 1 → 1; k3 = 0 and e − 2.
    // sample 1 (A = −1): ρ = 1; ρ = e^−0.5 → clipped up to 0.8 (the min picks −0.8); ρ = 1; k3 = e^−1 each.
    static readonly double K3Row1 = Math.Exp(-1);
    static readonly double[] Row0 = { -1.28, -1 + Beta * (Math.E - 2) };
    static readonly double[] Row1 = { 1 + Beta * K3Row1, 0.8 + Beta * K3Row1, 1 + Beta * K3Row1 };

    static (Tensor Loss, GrpoLoss.Stats Stats) Run(LossAggregation aggregation, float constant = 1, float beta = Beta)
    {
        var logp = tensor(LogP);
        return GrpoLoss.Compute(logp, tensor(OldLogP), tensor(RefLogP), tensor(Adv), tensor(Mask),
            EpsLow, EpsHigh, beta, aggregation, constant);
    }

    [Theory]
    [InlineData(LossAggregation.Sequence, 1f)]
    [InlineData(LossAggregation.Token, 1f)]
    [InlineData(LossAggregation.Constant, 4f)]
    public void Loss_matches_the_hand_computed_value_in_every_aggregation_mode(LossAggregation aggregation, float constant)
    {
        double expected = aggregation switch
        {
            LossAggregation.Sequence => (Row0.Sum() / 2 + Row1.Sum() / 3) / 2,
            LossAggregation.Token => (Row0.Sum() + Row1.Sum()) / 5,
            _ => (Row0.Sum() + Row1.Sum()) / (2 * constant),
        };
        var (loss, stats) = Run(aggregation, constant);
        Assert.Equal(expected, loss.item<float>(), 5);
        Assert.Equal(expected, stats.Loss, 5);
    }

    [Fact]
    public void Clip_fractions_count_each_side_and_kl_is_the_k3_mean()
    {
        var (_, stats) = Run(LossAggregation.Token);
        Assert.Equal(0.2, stats.ClipHigh, 5);  // sample 0, token 0: ρ > 1 + ε_high with A > 0
        Assert.Equal(0.2, stats.ClipLow, 5);   // sample 1, token 1: ρ < 1 − ε_low with A < 0
        Assert.Equal((Math.E - 2 + 3 * K3Row1) / 5, stats.Kl, 5);
    }

    [Fact]
    public void K3_kl_is_never_negative()
    {
        var logp = linspace(-6, 0, 50).reshape(5, 10);
        var reference = logp.flip(1);
        var (_, stats) = GrpoLoss.Compute(logp, logp, reference, zeros(5), ones(5, 10), 0.2f, 0.2f, 1f, LossAggregation.Token);
        Assert.True(stats.Kl > 0);
        var logRatio = reference - logp;
        Assert.True((logRatio.exp() - logRatio - 1).min().item<float>() >= 0);
    }

    [Fact]
    public void Advantages_are_normalised_per_group_with_or_without_std()
    {
        float[] rewards = { 1, 0, 0, 1, 2, 2, 2, 2 };
        var scaled = GrpoLoss.Advantages(rewards, 4, scaleByStd: true, out int zero, eps: 0);
        Assert.Equal(new float[] { 1, -1, -1, 1, 0, 0, 0, 0 }, scaled);   // mean 0.5, population std 0.5
        Assert.Equal(1, zero);
        var centred = GrpoLoss.Advantages(rewards, 4, scaleByStd: false, out _);
        Assert.Equal(new float[] { 0.5f, -0.5f, -0.5f, 0.5f, 0, 0, 0, 0 }, centred);
    }

    [Fact]
    public void Rewards_that_do_not_split_into_groups_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => GrpoLoss.Advantages(new float[5], 2, true, out _));
    }

    [Theory]
    [InlineData(LossAggregation.Sequence)]
    [InlineData(LossAggregation.Token)]
    [InlineData(LossAggregation.Constant)]
    public void With_one_update_the_loss_reads_zero_yet_the_gradient_pushes_toward_better_samples(LossAggregation aggregation)
    {
        // μ = 1: old log-probs are the current ones, so ρ = 1 and the loss is −mean(A) = 0 for centred advantages.
        var logp = tensor(new float[,] { { -1, -2 }, { -1, -3 }, { -2, -2 }, { -1, -1 } }, requires_grad: true);
        var adv = tensor(GrpoLoss.Advantages(new float[] { 1, 0, 0, 1 }, 4, true, out _));
        var (loss, _) = GrpoLoss.Compute(logp, logp.detach(), null, adv, ones(4, 2), 0.2f, 0.2f, 0f, aggregation, 2f);
        Assert.Equal(0, loss.item<float>(), 5);
        loss.backward();
        var grad = logp.grad!;
        // Minimising the loss raises log-probs of positive-advantage samples (negative gradient) and lowers the others.
        Assert.True(grad[0].max().item<float>() < 0 && grad[3].max().item<float>() < 0);
        Assert.True(grad[1].min().item<float>() > 0 && grad[2].min().item<float>() > 0);
    }

    [Fact]
    public void A_zero_signal_group_contributes_no_gradient()
    {
        var logp = tensor(new float[,] { { -1, -2 }, { -1, -3 }, { -2, -2 }, { -1, -1 } }, requires_grad: true);
        var adv = tensor(GrpoLoss.Advantages(new float[] { 1, 0, 3, 3 }, 2, true, out int zero));
        Assert.Equal(1, zero);
        var (loss, _) = GrpoLoss.Compute(logp, logp.detach(), null, adv, ones(4, 2), 0.2f, 0.2f, 0f, LossAggregation.Token);
        loss.backward();
        Assert.Equal(0f, logp.grad![TensorIndex.Slice(2, 4)].abs().sum().item<float>());
        Assert.True(logp.grad![TensorIndex.Slice(0, 2)].abs().sum().item<float>() > 0);
    }

    [Fact]
    public void A_fully_masked_sample_does_not_dilute_the_sequence_mean()
    {
        var perToken = tensor(new float[,] { { 2, 4 }, { 100, 100 } });
        var mask = tensor(new float[,] { { 1, 1 }, { 0, 0 } });
        Assert.Equal(3f, GrpoLoss.Reduce(perToken, mask, LossAggregation.Sequence).item<float>());
    }
}
