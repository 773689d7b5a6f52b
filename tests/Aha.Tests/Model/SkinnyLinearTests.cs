using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

public class SkinnyLinearTests
{
    [Theory]
    [InlineData(1, 64, 130, false)] // one row, split over threads (n ≥ 128)
    [InlineData(1, 17, 3, true)]    // k not a multiple of 8 or 16, n below a thread's share
    [InlineData(2, 33, 65, false)]
    [InlineData(3, 8, 130, true)]   // a partial block of four rows
    [InlineData(5, 512, 300, false)]
    [InlineData(8, 7, 129, true)]   // k below one vector
    public void Matches_torch_linear_for_few_rows(int rows, int inFeatures, int outFeatures, bool bias)
    {
        manual_seed(rows * 1000 + inFeatures);
        using var layer = nn.Linear(inFeatures, outFeatures, hasBias: bias);
        using var x = randn(rows, 1, inFeatures);
        using var noGrad = no_grad();
        Assert.True(SkinnyLinear.Applies(x, layer.weight!));
        using var expected = layer.forward(x);
        using var actual = SkinnyLinear.Forward(layer, x);
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-5), $"max diff {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void A_rows_result_is_bit_identical_whatever_else_shares_the_call()
    {
        using var weight = randn(70, 45); // k = 45: the 16-wide loop, then a tail
        using var x = randn(SkinnyLinear.MaxRows, 45);
        using var noGrad = no_grad();
        using var all = SkinnyLinear.Forward(x, weight);
        for (int row = 0; row < SkinnyLinear.MaxRows; row++)
        {
            using var alone = SkinnyLinear.Forward(x.narrow(0, row, 1), weight);
            Assert.True((alone == all.narrow(0, row, 1)).all().item<bool>(), $"row {row}");
        }
    }

    [Fact]
    public void A_tied_head_without_bias_matches_torch_linear()
    {
        using var weight = randn(264, 48);
        using var x = randn(4, 48);
        using var inference = inference_mode();
        using var expected = nn.functional.linear(x, weight);
        using var actual = SkinnyLinear.Forward(x, weight);
        Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Leaves_to_libtorch_what_it_does_not_cover_and_gives_the_same_result()
    {
        using var weight = randn(16, 8);
        using var few = randn(2, 8);
        using var many = randn(SkinnyLinear.MaxRows + 1, 8);
        using var strided = randn(8, 2).t();
        using var doubles = randn(2, 8, dtype: ScalarType.Float64);
        Assert.False(SkinnyLinear.Applies(few, weight));                     // autograd is on
        using var noGrad = no_grad();
        Assert.True(SkinnyLinear.Applies(few, weight));
        Assert.False(SkinnyLinear.Applies(many, weight));
        Assert.False(SkinnyLinear.Applies(strided, weight));
        Assert.False(SkinnyLinear.Applies(doubles, weight));
        foreach (var x in new[] { many, strided })
        {
            using var expected = nn.functional.linear(x, weight);
            using var actual = SkinnyLinear.Forward(x, weight);
            Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-5));
        }
    }

    [Fact]
    public void With_autograd_on_gradients_flow_as_through_torch_linear()
    {
        using var layer = nn.Linear(8, 4);
        using var x = randn(1, 8);
        using var loss = SkinnyLinear.Forward(layer, x).sum();
        loss.backward();
        Assert.NotNull(layer.weight!.grad);
        Assert.True(layer.weight.grad!.allclose(x.expand(4, 8)));
    }
}
