using Aha.Data;

namespace Aha.Tests.Data;

public class TrainValidationSplitTests
{
    static readonly string[] Docs = [.. Enumerable.Range(0, 5000).Select(i => $"document {i}")];

    [Fact]
    public void The_split_is_disjoint_covers_everything_and_has_about_the_asked_fraction()
    {
        var train = TrainValidationSplit.Train(Docs, 0.1, seed: 1).ToHashSet();
        var validation = TrainValidationSplit.Validation(Docs, 0.1, seed: 1).ToHashSet();
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(Docs.Length, train.Count + validation.Count);
        Assert.InRange(validation.Count, 400, 600);
    }

    [Fact]
    public void The_split_depends_on_content_and_seed_only()
    {
        var forward = TrainValidationSplit.Validation(Docs, 0.2, seed: 3).ToHashSet();
        var backward = TrainValidationSplit.Validation(Docs.Reverse(), 0.2, seed: 3).ToHashSet();
        Assert.Equal(forward, backward);
        Assert.NotEqual(forward, TrainValidationSplit.Validation(Docs, 0.2, seed: 4).ToHashSet());
        Assert.True(TrainValidationSplit.IsValidation("anything", 1.0));
        Assert.False(TrainValidationSplit.IsValidation("anything", 0.0));
    }

    [Fact]
    public void The_split_of_a_known_document_is_fixed_across_processes()
    {
        // FNV-1a + SplitMix64 are fixed algorithms; this pins them so a change cannot silently reshuffle a run's data.
        Assert.Equal([false, false, false, true, false],
            Enumerable.Range(0, 5).Select(i => TrainValidationSplit.IsValidation($"document {i}", 0.5, seed: 0)));
    }
}
