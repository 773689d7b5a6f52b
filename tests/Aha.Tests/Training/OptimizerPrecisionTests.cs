using Aha.Training;
using Xunit.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

/// <summary>
/// Why <see cref="Optimizers.AdamW"/> refuses bfloat16 parameters: one AdamW step moves each weight by about the learning
/// rate, and a bfloat16 weight of typical size (|w| ~ 0.02, spacing 2^-13 ≈ 1.2e-4) drops a 1e-6 move entirely.
/// </summary>
public class OptimizerPrecisionTests(ITestOutputHelper output)
{
    /// <summary>Share of weights (N(0, 0.02²), 4096 of them) that one AdamW step at <paramref name="lr"/> changes in <paramref name="dtype"/>.</summary>
    static double ChangedShare(ScalarType dtype, double lr)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var weight = new TorchSharp.Modules.Parameter((randn(new long[] { 4096 }, generator: generator) * 0.02).to(dtype));
        var before = weight.detach().clone();
        using var optimizer = optim.AdamW([weight], lr, weight_decay: 0);
        weight.grad = randn(new long[] { 4096 }, generator: generator).to(dtype);
        optimizer.step();
        return weight.detach().ne(before).to(float32).mean().item<float>();
    }

    [Fact]
    public void A_bfloat16_adamw_step_at_a_fine_tuning_learning_rate_loses_nearly_every_update_and_float32_keeps_them()
    {
        foreach (double lr in new[] { 1e-6, 1e-5, 1e-4 })
            output.WriteLine($"lr {lr:G}: bfloat16 changed {ChangedShare(bfloat16, lr):P1}, float32 {ChangedShare(float32, lr):P1}");
        // Hand bound: an update of 1e-6 survives rounding only where half the bfloat16 spacing is below it, |w| < 2^-12 ≈ 2.4e-4,
        // about 1% of N(0, 0.02²) weights. Measured: see dev/log/famrest.md.
        Assert.True(ChangedShare(bfloat16, 1e-6) < 0.03, $"bfloat16 at lr 1e-6 changed {ChangedShare(bfloat16, 1e-6):P1}");
        Assert.True(ChangedShare(float32, 1e-6) > 0.99, $"float32 at lr 1e-6 changed {ChangedShare(float32, 1e-6):P1}");
    }
}
