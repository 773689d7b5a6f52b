using Aha.Eval;

namespace Aha.Tests.Eval;

public class PassAtKTests
{
    [Fact]
    public void The_estimator_matches_brute_force_enumeration_of_every_k_subset()
    {
        for (var n = 1; n <= 10; n++)
        for (var c = 0; c <= n; c++)
        for (var k = 1; k <= n; k++)
            Assert.Equal(BruteForce(n, c, k), PassAtK.Estimate(n, c, k), precision: 12);
    }

    // Samples 0..c-1 are correct; count the k-subsets holding at least one.
    static double BruteForce(int n, int c, int k)
    {
        int hits = 0, total = 0;
        for (var mask = 0; mask < 1 << n; mask++)
        {
            if (System.Numerics.BitOperations.PopCount((uint)mask) != k) continue;
            total++;
            if ((mask & ((1 << c) - 1)) != 0) hits++;
        }
        return (double)hits / total;
    }

    [Theory]
    [InlineData(64, 1, 1, 1.0 / 64)]
    [InlineData(64, 0, 8, 0.0)]
    [InlineData(64, 64, 8, 1.0)]
    [InlineData(200, 100, 100, 1.0)]
    public void Large_n_stays_exact_enough(int n, int c, int k, double expected) =>
        Assert.Equal(expected, PassAtK.Estimate(n, c, k), precision: 12);

    [Theory]
    [InlineData(4, 1, 5)]
    [InlineData(4, 5, 1)]
    [InlineData(0, 0, 1)]
    public void Impossible_arguments_are_refused(int n, int c, int k) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(n, c, k));

    [Theory]
    [InlineData(new[] { "5", "5", "6" }, 3, 0)]
    [InlineData(new[] { "6", "5", "5" }, 3, 1)]
    [InlineData(new[] { "6", "5", "5" }, 2, 0)]         // only the first k vote; tie → first seen
    [InlineData(new[] { null, null, "7" }, 3, 2)]        // no answer, no vote
    [InlineData(new string?[] { null, null }, 2, -1)]
    public void Majority_vote_takes_the_most_frequent_of_the_first_k(string?[] keys, int k, int winner) =>
        Assert.Equal(winner, MajorityVote.Winner(keys, k));
}
