using Aha.Data;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;

namespace Aha.Tests.Data;

public class ReasoningCorpusTests
{
    static readonly ArithmeticTask Addition = new(new ArithmeticOptions { MinDigits = 2, MaxDigits = 2, Operations = "+" });

    [Theory]
    [InlineData(47, 38, "<think>7+8=15, 4+3+1=8, so 85</think> <answer>85</answer>")]
    [InlineData(95, 17, "<think>5+7=12, 9+1+1=11, so 112</think> <answer>112</answer>")]
    [InlineData(20, 3, "<think>0+3=3, 2+0=2, so 23</think> <answer>23</answer>")]
    public void A_worked_addition_goes_column_by_column_from_the_units(long a, long b, string expected) =>
        Assert.Equal(expected, ReasoningCorpus.WorkedAddition(a, b, new StableRandom(1), slipRate: 0));

    [Fact]
    public void A_slip_is_written_then_caught_with_wait()
    {
        var text = ReasoningCorpus.WorkedAddition(47, 38, new StableRandom(1), slipRate: 1);
        Assert.Matches(@"^<think>7\+8=1[46], wait, 7\+8=15, 4\+3\+1=[79], wait, 4\+3\+1=8, so 85</think> <answer>85</answer>$", text);
    }

    [Theory]
    [InlineData(47, 38, 75)]
    [InlineData(95, 17, 2)]
    [InlineData(12, 34, 46)]
    public void The_carryless_sum_forgets_every_carry(long a, long b, long expected) =>
        Assert.Equal(expected, ReasoningCorpus.CarrylessSum(a, b));

    [Fact]
    public void Documents_use_only_train_problems_and_repeat_for_a_seed()
    {
        var corpus = new ReasoningCorpus(Addition);
        var docs = corpus.Documents(3).Take(300).ToList();
        Assert.Equal(docs, corpus.Documents(3).Take(300));
        var test = Addition.Items(TaskSplit.Test, 3).Take(2000).Select(i => Prompts.Render(i.Prompt, PromptStyle.Short)).ToHashSet();
        Assert.DoesNotContain(docs, d => test.Contains(d[..(d.IndexOf("Assistant:", StringComparison.Ordinal) + "Assistant:".Length)]));
    }

    [Fact]
    public void The_mix_follows_the_worked_share()
    {
        var docs = new ReasoningCorpus(Addition, new ReasoningCorpusOptions { WorkedShare = 0.35 }).Documents(1).Take(2000).ToList();
        double worked = docs.Count(d => d.Contains("<think>", StringComparison.Ordinal)) / 2000.0;
        Assert.InRange(worked, 0.31, 0.39);
        Assert.All(docs, d => Assert.StartsWith("User: What is ", d));
    }

    [Fact]
    public void Other_operations_are_refused_with_the_fix()
    {
        var e = Assert.Throws<ArgumentException>(() => new ReasoningCorpus(new ArithmeticTask(ArithmeticOptions.Level(3))));
        Assert.Contains("Operations \"+\"", e.Message);
    }
}
