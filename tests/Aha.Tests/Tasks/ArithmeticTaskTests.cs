using Aha.Tasks;
using Aha.Tasks.Arithmetic;

namespace Aha.Tests.Tasks;

public class ArithmeticTaskTests
{
    [Fact]
    public void Problem_seed_index_is_the_same_every_time_and_seeds_differ()
    {
        var task = new ArithmeticTask(ArithmeticOptions.Level(4));
        Assert.Equal(task.Generate(5, 17), task.Generate(5, 17));
        Assert.NotEqual(task.Items(seed: 1).Take(20).Select(i => i.Prompt), task.Items(seed: 2).Take(20).Select(i => i.Prompt));
    }

    [Fact]
    public void Generation_is_pinned_across_processes_and_versions()
    {
        // A change here reshuffles every user's data: only change it on purpose.
        var item = new ArithmeticTask(ArithmeticOptions.Level(4)).Generate(1, 1);
        Assert.Equal(("What is 91-21-4?", "66"), (item.Prompt, item.Answer));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Every_level_has_correct_integer_golds_within_its_shape(int level)
    {
        var options = ArithmeticOptions.Level(level);
        var task = new ArithmeticTask(options);
        foreach (var item in task.Items().Take(500))
        {
            var expression = item.Prompt["What is ".Length..^1];
            var operands = expression.Split('+', '-', '*');
            Assert.InRange(operands.Length, options.MinOperands, options.MaxOperands);
            Assert.All(operands, o => Assert.InRange(o.Length, options.MinDigits, options.MaxDigits));
            Assert.Equal(Evaluate(expression), long.Parse(item.Answer));
            Assert.True(long.Parse(item.Answer) >= 0);
            Assert.EndsWith("= " + item.Answer, item.Solution);
            Assert.True(task.Verify($"<answer>{item.Answer}</answer>", item).Correct);
            Assert.False(task.Verify($"<answer>{long.Parse(item.Answer) + 1}</answer>", item).Correct);
        }
    }

    [Fact]
    public void Train_and_held_out_never_share_a_problem()
    {
        var task = new ArithmeticTask(ArithmeticOptions.Level(1));
        var train = task.Items(TaskSplit.Train).Take(5000).Select(i => i.Prompt).ToHashSet();
        var test = task.Items(TaskSplit.Test).Take(500).Select(i => i.Prompt).ToHashSet();
        Assert.NotEmpty(test);
        Assert.Empty(train.Intersect(test));
        // Level 1 has only 200 distinct problems: the held-out share is close to 10%.
        Assert.InRange(test.Count, 5, 40);
    }

    [Fact]
    public void Stable_hash_is_fixed()
    {
        Assert.Equal(StableHash.Fnv1a64("arithmetic:23+58*4"), StableHash.Fnv1a64("arithmetic:23+58*4"));
        Assert.Equal(0xE220A8397B1DCDAFUL, new StableRandom(0).NextULong()); // SplitMix64 reference output
        Assert.NotEqual(StableHash.Fnv1a64("a"), StableHash.Fnv1a64("b"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Unknown_levels_are_refused(int level) => Assert.Throws<ArgumentException>(() => ArithmeticOptions.Level(level));

    [Fact]
    public void Invalid_options_are_refused_with_the_field_named()
    {
        var e = Assert.Throws<ArgumentException>(() => new ArithmeticTask(new ArithmeticOptions { Operations = "/" }));
        Assert.Contains("operations", e.Message);
    }

    // Independent of the generator: * before + and -, left to right.
    static long Evaluate(string expression)
    {
        long total = 0, term = 0;
        var sign = 1;
        var number = 0L;
        var pendingMultiply = false;
        foreach (var c in expression + "+")
        {
            if (char.IsAsciiDigit(c)) { number = number * 10 + (c - '0'); continue; }
            term = pendingMultiply ? term * number : number;
            number = 0;
            if (c == '*') { pendingMultiply = true; continue; }
            total += sign * term;
            pendingMultiply = false;
            sign = c == '-' ? -1 : 1;
        }
        return total;
    }
}
