using Aha.Tasks;
using Aha.Tasks.Countdown;

namespace Aha.Tests.Tasks;

public class SignsTaskTests
{
    static readonly TaskItem Item = new("x", SignsTask.PromptFor(new CountdownPuzzle([3, 7, 5, 2], 13)), "3 7 5 2 -> 13");

    // An independent solver: every value reachable by ± in order, built forward as a set (not the task's pattern list).
    static HashSet<int> Reachable(IReadOnlyList<int> numbers)
    {
        var values = new HashSet<int> { numbers[0] };
        foreach (var n in numbers.Skip(1)) values = values.SelectMany(v => new[] { v + n, v - n }).ToHashSet();
        return values;
    }

    [Fact]
    public void Every_one_of_5000_generated_puzzles_is_solvable_in_range_and_its_solution_verifies()
    {
        var task = new SignsTask();
        foreach (var item in task.Items(seed: 11).Take(5_000))
        {
            Assert.True(CountdownPuzzle.TryParse(item.Answer, out var puzzle), item.Answer);
            Assert.InRange(puzzle.Numbers.Count, 3, 4);
            Assert.All(puzzle.Numbers, n => Assert.InRange(n, 1, 9));
            Assert.InRange(puzzle.Target, 1, 30);
            Assert.DoesNotContain(puzzle.Target, puzzle.Numbers);
            Assert.Contains(puzzle.Target, Reachable(puzzle.Numbers));
            Assert.True(task.Verify($"<answer>{item.Solution}</answer>", item).Correct, $"{item.Answer}: generator's {item.Solution}");
            Assert.Equal($"Put + or - between {string.Join(' ', puzzle.Numbers)} to make {puzzle.Target}.", item.Prompt);
        }
    }

    [Fact]
    public void Generation_is_a_pure_function_of_seed_and_index_and_the_splits_are_disjoint()
    {
        var task = new SignsTask();
        Assert.Equal(task.Generate(5, 17), new SignsTask().Generate(5, 17));
        var train = task.Items(TaskSplit.Train, 3).Take(2_000).Select(i => i.Answer).ToHashSet();
        var test = task.Items(TaskSplit.Test, 3).Take(200).Select(i => i.Answer).ToList();
        Assert.DoesNotContain(test, train.Contains);
    }

    [Theory]
    [InlineData("<answer>3+7+5-2</answer>", true, null)]
    [InlineData("<answer> 3 + 7 + 5 - 2 </answer>", true, null)]
    [InlineData("<think>3+7-5+2=7, not 13</think> <answer>3+7+5-2</answer>", true, null)]
    [InlineData("<answer>3+7+5-2 = 13</answer>", true, null)]
    [InlineData("<answer>3+7+5-2 = 12</answer>", false, "claims = 12, target is 13")]
    [InlineData("<answer>3+7-5+2</answer>", false, "evaluates to 7, not 13")]
    [InlineData("<answer>3-7+5-2</answer>", false, "evaluates to -1, not 13")]
    [InlineData("<answer>7+3+5-2</answer>", false, "must use 3 7 5 2 in that order")]   // 13 too, but out of order
    [InlineData("<answer>3+7+5</answer>", false, "must use 3 7 5 2 in that order")]
    [InlineData("<answer>3+7+5-2+0</answer>", false, "must use 3 7 5 2 in that order")]
    [InlineData("<answer>3*7-5-2</answer>", false, "not numbers joined by + and -")]
    [InlineData("<answer>-3+7+5+2</answer>", false, "not numbers joined by + and -")]
    [InlineData("<answer>(3+7)+5-2</answer>", false, "not numbers joined by + and -")]
    [InlineData("<answer></answer>", false, "not numbers joined by + and -")]
    [InlineData("3+7+5-2", false, "no <answer> tag")]
    [InlineData("<answer>3+7+5-2+99999999999999999999</answer>", false, "must use 3 7 5 2 in that order")]
    public void The_verifier_accepts_exactly_the_right_signs_in_order(string completion, bool correct, string? reason)
    {
        var verdict = new SignsTask().Verify(completion, Item);
        Assert.Equal(correct, verdict.Correct);
        Assert.Equal(reason, verdict.Reason);
    }

    [Theory]
    [InlineData(2, new[] { "+", "-" })]
    [InlineData(3, new[] { "++", "+-", "-+", "--" })]
    [InlineData(4, new[] { "+++", "++-", "+-+", "+--", "-++", "-+-", "--+", "---" })]
    public void Patterns_are_every_sign_choice_once(int count, string[] expected) =>
        Assert.Equal(expected, SignsTask.Patterns(count).Select(p => new string(p)));

    [Theory]
    [InlineData(new[] { 3, 7, 5, 2 }, "+-+", "3+7-5+2", 7)]
    [InlineData(new[] { 9, 8, 7 }, "--", "9-8-7", -6)]
    [InlineData(new[] { 1, 2 }, "+", "1+2", 3)]
    public void Write_and_value_agree_with_hand_arithmetic(int[] numbers, string signs, string text, int value)
    {
        Assert.Equal(text, SignsTask.Write(numbers, signs.ToCharArray()));
        Assert.Equal(value, SignsTask.Value(numbers, signs.ToCharArray()));
    }

    [Fact]
    public void Bad_options_and_bad_gold_are_refused_with_the_field_named()
    {
        Assert.Contains("max_target", Assert.Throws<ArgumentException>(() => new SignsTask(new SignsOptions { MaxCount = 3, MaxTarget = 30 })).Message);
        Assert.Contains("min_count", Assert.Throws<ArgumentException>(() => new SignsTask(new SignsOptions { MinCount = 1 })).Message);
        Assert.NotNull(new SignsTask().CheckGold("13"));
        Assert.Null(new SignsTask().CheckGold("3 7 5 2 -> 13"));
        Assert.False(new SignsTask().Verify("<answer>3+7+5-2</answer>", Item with { Answer = "13" }).Correct);
    }

    [Fact]
    public void The_registry_creates_it_by_name()
    {
        Assert.Contains("signs", TaskRegistry.Names);
        Assert.IsType<SignsTask>(TaskRegistry.Create("signs"));
    }
}
