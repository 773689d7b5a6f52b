using Aha.Model;

namespace Aha.Tests.Model;

/// <summary>
/// The attention kernels of the fused decode path at lengths past every vector width (the decode tests' tiny models
/// attend over at most 11 slots, under one AVX-512 vector), against scalar loops written here.
/// </summary>
public unsafe class DecodeKernelsTests
{
    public static TheoryData<DecodeIsa> Isas() => new(DecodeKernels.Available);

    static float[] Scores(int n) => [.. Enumerable.Range(0, n).Select(j => MathF.Sin(j * 0.7f) * 3 + (j % 5 == 0 ? 4 : 0))];

    // Slots 0, 3, 6, … masked out (−∞), the rest allowed (0): a pattern no vector width lines up with.
    static float[] Mask(int n) => [.. Enumerable.Range(0, n).Select(j => j % 3 == 0 && j > 0 ? float.NegativeInfinity : 0f)];

    [Theory]
    [MemberData(nameof(Isas))]
    public void Scores_are_scaled_and_masked_exactly_and_their_max_is_returned(DecodeIsa isa)
    {
        const float scale = 0.125f;
        foreach (int n in new[] { 1, 3, 4, 7, 8, 15, 16, 17, 31, 33, 64, 100 })
        {
            float[] x = Scores(n), mask = Mask(n);
            var expected = x.Select((v, j) => mask[j] == 0 ? v * scale : float.NegativeInfinity).ToArray();
            float max;
            fixed (float* px = x, pm = mask) max = DecodeKernels.ScaleMaskMax(isa, px, pm, n, scale);
            Assert.Equal(expected, x);
            Assert.Equal(expected.Max(), max);
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void Exp_in_place_matches_the_scalar_exponential_and_sums_it(DecodeIsa isa)
    {
        foreach (int n in new[] { 1, 5, 16, 17, 40, 100 })
        {
            float[] x = Scores(n), mask = Mask(n);
            for (int j = 0; j < n; j++) if (mask[j] != 0) x[j] = float.NegativeInfinity; // masked slots must come out 0
            float shift = x.Max();
            var expected = x.Select(v => MathF.Exp(v - shift)).ToArray();
            float sum;
            fixed (float* px = x) sum = DecodeKernels.ExpInPlace(isa, px, n, shift);
            for (int j = 0; j < n; j++)
            {
                if (mask[j] != 0) Assert.Equal(0f, x[j]);
                else Assert.True(MathF.Abs(x[j] - expected[j]) <= 1e-6f * expected[j], $"{isa}, n {n}, slot {j}: {x[j]} vs {expected[j]}");
            }
            Assert.True(MathF.Abs(sum - expected.Sum()) <= 1e-5f * expected.Sum(), $"{isa}, n {n}: sum {sum} vs {expected.Sum()}");
        }
    }

    [Fact]
    public void Kernels_split_over_no_more_threads_than_the_processors_they_may_run_on()
    {
        int threads = TorchSharp.torch.get_num_threads();
        try
        {
            TorchSharp.torch.set_num_threads(Environment.ProcessorCount + 2); // as `--threads` above the core count sets it
            Assert.Equal(Environment.ProcessorCount, SpinWorkers.Parts);
            TorchSharp.torch.set_num_threads(1);
            Assert.Equal(1, SpinWorkers.Parts);
        }
        finally
        {
            TorchSharp.torch.set_num_threads(threads);
        }
    }
}
