using Aha.Tasks;
using Aha.Tasks.Rewards;

namespace Aha.Tests.Tasks.Rewards;

public class RandomRewardTests
{
    static readonly TaskItem Item = new("1", "Put + or - between 1 2 to make 3.", "1 2 -> 3");
    static List<Completion> Batch(int n, string text = "<answer>1+2</answer>") => Enumerable.Range(0, n).Select(_ => new Completion("p", text, Item)).ToList();

    [Fact]
    public void Same_seed_same_scores_call_by_call_whatever_the_text()
    {
        var a = new RandomReward(7);
        var b = new RandomReward(7);
        for (var call = 0; call < 3; call++)
            Assert.Equal(a.Score(Batch(64)), b.Score(Batch(64, "something else entirely")));
        Assert.NotEqual(new RandomReward(7).Score(Batch(64)), new RandomReward(8).Score(Batch(64)));
        var c = new RandomReward(7);
        Assert.NotEqual(c.Score(Batch(64)), c.Score(Batch(64))); // each call draws afresh
    }

    [Fact]
    public void Scores_are_0_or_1_at_the_given_rate()
    {
        var scores = new RandomReward(1).Score(Batch(20_000));
        Assert.All(scores, s => Assert.True(s is 0f or 1f));
        Assert.InRange(scores.Average(), 0.48, 0.52);         // binomial sd 0.0035
        Assert.InRange(new RandomReward(1, 0.1).Score(Batch(20_000)).Average(), 0.09, 0.11);
        Assert.All(new RandomReward(1, 0).Score(Batch(100)), s => Assert.Equal(0f, s));
        Assert.All(new RandomReward(1, 1).Score(Batch(100)), s => Assert.Equal(1f, s));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomReward(1, 1.5));
        Assert.Equal("random", new RandomReward(1).Name);
    }
}
