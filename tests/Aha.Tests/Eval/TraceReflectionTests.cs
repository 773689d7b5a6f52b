using Aha.Eval;

namespace Aha.Tests.Eval;

public class TraceReflectionTests
{
    // Expected counts by hand: candidates (E=V), checks (", not T"), backtracks (a candidate after a rejection),
    // wrong values (V is not E's value), keywords (wait/check/verify/again).
    [Theory]
    [InlineData("<think>3+7-5+2=7, not 13. wait, 3+7+5-2=13</think> <answer>3+7+5-2</answer>", 2, 1, 1, 0, 1)]
    [InlineData("<think>3+7+5-2=13</think> <answer>3+7+5-2</answer>", 1, 0, 0, 0, 0)]
    [InlineData("<answer>3+7-5+2</answer>", 0, 0, 0, 0, 0)]
    [InlineData("<answer>3+7+5-2=13</answer>", 0, 0, 0, 0, 0)] // the answer is not reasoning
    [InlineData("<think>3+7-5+2=9, not 13. 3-7+5+2=3, not 13. 3+7+5-2=14, not 13</think> <answer>3+7+5-2</answer>", 3, 3, 2, 2, 0)]
    [InlineData("<think>let me check: 3+7-5+2=7, not 13. wait, wait</think> <answer>3+7-5+2</answer>", 1, 1, 0, 0, 3)] // words, no second try
    [InlineData("<think>3-7-5-2=-11, not 13. again: 3+7+5+2=17, not 13</think>", 2, 2, 1, 0, 1)]
    [InlineData("<think>3 + 7 - 5 = 5 not 9. 3 - 7 + 5 = 1</think>", 2, 1, 1, 0, 0)]
    [InlineData("<think>3+7=10, so 10-5=5, not 9</think>", 2, 1, 0, 0, 0)] // the rejection comes last: nothing tried after it
    [InlineData("<think>99999999999999999999+1=5, not 9</think>", 1, 1, 0, 1, 0)] // too long to evaluate: counted wrong, no throw
    [InlineData("<think>7, not 13. 13</think>", 0, 0, 0, 0, 0)]
    [InlineData("<think>3+7=10-5=5+2=7, not 13. wait, 3+7=10+5=15-2=13</think> <answer>3+7+5-2</answer>", 2, 1, 1, 0, 1)] // running totals
    [InlineData("<think>3+7=10-5=6+2=8, not 13</think>", 1, 1, 0, 1, 0)]   // 10-5=6 is the slip; 6+2=8 follows from it
    [InlineData("<think>3-7=-4-5=-9+2=-7, not 13. 3+7=10+5=15+2=17, not 13</think>", 2, 2, 1, 0, 0)]
    [InlineData("<think>3+7-5+2 is a sum, 3+7=10-5</think>", 1, 0, 0, 0, 0)]  // a sum with no value is not a candidate; a chain counts up to its last value
    public void Behaviour_counts_of_hand_written_traces(string trace, int candidates, int checks, int backtracks, int wrong, int keywords)
    {
        var r = TraceReflection.Parse(trace);
        Assert.Equal((candidates, checks, backtracks, wrong, keywords), (r.Candidates, r.Checks, r.Backtracks, r.WrongValues, r.Keywords));
        Assert.Equal(backtracks > 0, r.Reflected);
    }

    [Fact]
    public void Precision_recall_and_split_accuracy_match_hand_counts()
    {
        const string reflected = "<think>1+2=3, not 4. 1-2=-1, not 4</think> <answer>1-2</answer>";
        const string straight = "<think>1+2=3</think> <answer>1+2</answer>";
        const string keyword = "<think>wait</think> <answer>1+2</answer>";
        var stats = ReflectionStats.From(
        [
            (reflected, true), (reflected, true), (reflected, false),
            (straight, true), (straight, false), (keyword, false),
        ]);
        Assert.Equal(6, stats.Completions);
        Assert.Equal(3 / 6.0, stats.Accuracy, 12);
        Assert.Equal(0.5, stats.ReflectedShare, 12);
        Assert.Equal(2 / 3.0, stats.Precision, 12);      // 2 of 3 reflected are correct
        Assert.Equal(2 / 3.0, stats.Recall, 12);         // 2 of 3 correct reflected
        Assert.Equal(1 / 3.0, stats.AccuracyNotReflected, 12);
        Assert.Equal(1 / 6.0, stats.KeywordShare, 12);
        Assert.Equal(0.0, stats.KeywordPrecision, 12);
        Assert.Equal((3 * 2 + 2 * 1) / 6.0, stats.CandidatesPerCompletion, 12);
        Assert.Equal(3 / 6.0, stats.BacktracksPerCompletion, 12);
        Assert.Equal(6 / 6.0, stats.ChecksPerCompletion, 12);
        Assert.Equal(0.0, stats.WrongValueShare, 12);
    }

    [Fact]
    public void Empty_denominators_are_NaN_not_zero()
    {
        var stats = ReflectionStats.From([("<answer>1+2</answer>", false)]);
        Assert.True(double.IsNaN(stats.Precision));
        Assert.True(double.IsNaN(stats.Recall));
        Assert.True(double.IsNaN(stats.WrongValueShare));
        Assert.Equal(0.0, stats.AccuracyNotReflected);
        Assert.True(double.IsNaN(ReflectionStats.From([]).Accuracy));
    }
}
