using Aha.Tasks;
using Aha.Tasks.Countdown;

namespace Aha.Tests.Tasks;

public class CountdownTests
{
    static readonly CountdownPuzzle Puzzle = new([3, 4, 5, 6], 24);

    [Fact]
    public void Every_one_of_10000_generated_puzzles_is_solvable_and_the_verifier_agrees_with_the_solver()
    {
        foreach (var exactlyOnce in new[] { false, true })
        {
            var task = new CountdownTask(new CountdownOptions { ExactlyOnce = exactlyOnce });
            foreach (var item in task.Items(seed: 7).Take(exactlyOnce ? 2_000 : 10_000))
            {
                Assert.True(CountdownPuzzle.TryParse(item.Answer, out var puzzle));
                var solution = CountdownSolver.Solve(puzzle.Numbers, puzzle.Target, exactlyOnce);
                Assert.NotNull(solution);
                Assert.True(task.Verify($"<answer>{solution}</answer>", item).Correct, $"{item.Answer}: solver's {solution}");
                Assert.True(task.Verify($"<answer>{item.Solution}</answer>", item).Correct, $"{item.Answer}: generator's {item.Solution}");
            }
        }
    }

    [Fact]
    public void The_solver_finds_a_solution_or_reports_there_is_none()
    {
        Assert.Null(CountdownSolver.Solve([1, 1], 5, exactlyOnce: false));
        Assert.Null(CountdownSolver.Solve([2, 3], 7, exactlyOnce: true));
        Assert.Equal("(10 - 3)", CountdownSolver.Solve([2, 3, 10], 7, exactlyOnce: false));
        Assert.Equal("((3 * 10) - 2)", CountdownSolver.Solve([2, 3, 10], 28, exactlyOnce: true));
        Assert.NotNull(CountdownSolver.Solve([1, 5, 5, 5], 24, exactlyOnce: true)); // 5 * (5 - 1/5): needs fractions
    }

    [Theory]
    [InlineData("<answer>(6 - 4) * (5 + 3) + 8</answer>", false)]   // 8 is not given
    [InlineData("<answer>(6 - 5 + 3) * 4 + 8</answer>", false)]
    [InlineData("<answer>6 * 4</answer>", true)]                      // at most once: unused numbers are fine
    [InlineData("<answer>(5 - 3) * 6 + 4 * 3</answer>", false)]       // 3 used twice
    [InlineData("<answer>6 × 4</answer>", true)]
    [InlineData("<answer>(3 + 5 - 4) × 6</answer>", true)]
    [InlineData("<answer>6 ÷ (5 − 4) × 3 + 6</answer>", false)]
    [InlineData("<answer>6 * 4 = 24</answer>", true)]
    [InlineData("<answer>6 * 4 = 25</answer>", false)]                // claims the wrong value
    [InlineData("<answer>3 * 6 + 5</answer>", false)]                 // 23
    [InlineData("<answer>6 / (4 - 4)</answer>", false)]               // division by zero: wrong, no crash
    [InlineData("<answer>6 / (5 - 5)</answer>", false)]
    [InlineData("<answer>-3 + 27</answer>", false)]                   // no unary minus
    [InlineData("<answer>6.0 * 4</answer>", false)]
    [InlineData("<answer>eval('6*4')</answer>", false)]
    [InlineData("<answer>((((6 * 4))))</answer>", true)]
    [InlineData("<answer>(6 * 4</answer>", false)]
    [InlineData("<answer></answer>", false)]
    [InlineData("6 * 4", false)]                                      // no answer tag
    [InlineData("\\boxed{6 * 4}", true)]
    [InlineData("<answer>3 * (4 + 5 - 6) * 6 / 3 - 6 + 6 - 6 * 4 + 24</answer>", false)]
    public void The_verifier_parses_checks_numbers_and_value_exactly(string completion, bool correct)
    {
        var task = new CountdownTask();
        Assert.Equal(correct, task.Verify(completion, new TaskItem("p", "", Puzzle.ToString())).Correct);
    }

    [Theory]
    [InlineData("6 * 4", false)]
    [InlineData("(6 - 5 + 3) * 4 - 4", false)]
    [InlineData("(5 - 3 + 6) * 4 - 4 - 4", false)]
    [InlineData("6 * (5 - 3) * 4 / 4 * 3", false)]
    [InlineData("(6 + 4 + 5 - 3) * 3 / 3 + 6", false)]
    [InlineData("6 * 5 - 4 - 3 + 1", false)]
    [InlineData("(5 + 3 - 4) * 6", true)]
    [InlineData("6 / (5 / 4 - 3 / 4) * ... ", false)]
    public void Exactly_once_requires_every_number(string expression, bool correct) =>
        Assert.Equal(correct, CountdownTask.Check(expression, Puzzle, exactlyOnce: true) is null);

    [Fact]
    public void Rational_arithmetic_is_exact()
    {
        // 8 / (3 - 8/3) = 24, which floating point gets as 23.999999999999996.
        var puzzle = new CountdownPuzzle([3, 3, 8, 8], 24);
        Assert.Null(CountdownTask.Check("8 / (3 - 8 / 3)", puzzle, exactlyOnce: true));
    }

    [Fact]
    public void Deep_nesting_and_huge_numbers_are_wrong_not_crashes()
    {
        var deep = new string('(', 100_000) + "6" + new string(')', 100_000);
        Assert.NotNull(CountdownTask.Check(deep, Puzzle, false));
        Assert.NotNull(CountdownTask.Check(new string('9', 5000), Puzzle, false));
        Assert.NotNull(CountdownTask.Check("6 * 4 = " + new string('9', 5000), Puzzle, false));
    }

    [Fact]
    public void Same_seed_same_puzzles_and_the_splits_never_overlap()
    {
        var task = new CountdownTask();
        Assert.Equal(task.Items(seed: 3).Take(50), task.Items(seed: 3).Take(50));
        Assert.NotEqual(task.Items(seed: 3).Take(50).Select(i => i.Answer), task.Items(seed: 4).Take(50).Select(i => i.Answer));
        var train = task.Items(TaskSplit.Train, 1).Take(3000).Select(i => i.Answer).ToHashSet();
        var test = task.Items(TaskSplit.Test, 1).Take(300).Select(i => i.Answer).ToList();
        Assert.DoesNotContain(test, train.Contains);
    }

    [Theory]
    [InlineData("3 4 5 6 -> 24", true)]
    [InlineData("[3, 4, 5, 6] -> 24", true)]
    [InlineData("24", false)]
    [InlineData("a b -> 3", false)]
    [InlineData("3 4 ->", false)]
    public void Gold_puzzles_parse_or_are_rejected(string gold, bool ok) =>
        Assert.Equal(ok, new CountdownTask().CheckGold(gold) is null);
}
