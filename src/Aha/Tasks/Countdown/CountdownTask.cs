using System.Numerics;
using Aha.Tasks.Answers;

namespace Aha.Tasks.Countdown;

/// <summary>
/// TinyZero's Countdown: reach the target with + − × ÷ using each given number at most once (or exactly once).
/// Puzzles are built backwards from a random expression over the numbers, so every one is solvable by construction;
/// the expression is kept as <see cref="TaskItem.Solution"/>. The gold answer is the puzzle itself
/// (<c>3 4 5 6 -> 24</c>): any correct expression counts, not only the generator's.
/// </summary>
public sealed class CountdownTask(CountdownOptions? options = null) : ITask
{
    public CountdownOptions Options { get; } = (options ?? new CountdownOptions()).Validate();

    public string Name => "countdown";

    public IEnumerable<TaskItem> Items(TaskSplit split = TaskSplit.All, long seed = 0)
    {
        for (long index = 0; ; index++)
        {
            var item = Generate(seed, index);
            if (SplitRule.Contains(split, "countdown:" + item.Answer)) yield return item;
        }
    }

    public TaskItem Generate(long seed, long index)
    {
        var random = StableRandom.For(seed, index);
        for (var draw = 0; draw < 10_000; draw++)
        {
            var count = random.Next(Options.MinCount, Options.MaxCount);
            var numbers = Enumerable.Range(0, count).Select(_ => random.Next(Options.MinNumber, Options.MaxNumber)).ToArray();
            for (var attempt = 0; attempt < 20; attempt++)
            {
                if (TryBuild(numbers, random) is not var (target, expression)) continue;
                var puzzle = new CountdownPuzzle(numbers, target);
                return new TaskItem($"{seed}-{index}", PromptFor(puzzle), puzzle.ToString()) { Solution = expression };
            }
        }
        throw new InvalidOperationException($"no puzzle found for {Options}; widen the target range.");
    }

    string PromptFor(CountdownPuzzle puzzle) =>
        $"Using the numbers [{string.Join(", ", puzzle.Numbers)}], make {puzzle.Target} with + - * / using each number " +
        $"{(Options.ExactlyOnce ? "exactly" : "at most")} once. Answer like <answer>(1 + 2) / 3</answer>.";

    // Combine a random subset (all numbers when ExactlyOnce) in random order with random operations.
    (int Target, string Expression)? TryBuild(int[] numbers, StableRandom random)
    {
        var order = numbers.ToList();
        for (var i = order.Count - 1; i > 0; i--) { var j = random.Next(0, i); (order[i], order[j]) = (order[j], order[i]); }
        // At most once: all numbers or all but one, so most puzzles need every step of reasoning they can get.
        var used = Options.ExactlyOnce ? order.Count : random.Next(Math.Max(2, order.Count - 1), order.Count);
        var values = order.Take(used).Select(n => (Value: (Rational)n, Text: n.ToString())).ToList();
        while (values.Count > 1)
        {
            var i = random.Next(0, values.Count - 1);
            var a = values[i];
            values.RemoveAt(i);
            var j = random.Next(0, values.Count - 1);
            var b = values[j];
            values.RemoveAt(j);
            var op = "+-*/"[random.Next(0, 3)];
            Rational value;
            if (op == '/') { if (!Rational.TryDivide(a.Value, b.Value, out value)) return null; }
            else value = op switch { '+' => a.Value + b.Value, '-' => a.Value - b.Value, _ => a.Value * b.Value };
            var last = values.Count == 0;
            values.Add((value, last ? $"{a.Text} {op} {b.Text}" : $"({a.Text} {op} {b.Text})"));
        }
        var result = values[0].Value;
        if (!result.IsInteger || result.Numerator < Options.MinTarget || result.Numerator > Options.MaxTarget) return null;
        var target = (int)result.Numerator;
        // A target that is one of the numbers is solved by copying it: no reasoning to learn.
        if (numbers.Contains(target)) return null;
        return (target, values[0].Text);
    }

    public Verdict Verify(string completion, TaskItem item)
    {
        if (!CountdownPuzzle.TryParse(item.Answer, out var puzzle))
            return new Verdict(null, false) { Reason = $"gold '{AnswerVerifier.Truncate(item.Answer)}' is not a puzzle like '3 4 5 -> 17'" };
        var answer = AnswerExtractor.Extract(completion, AnswerSources.AnswerTag | AnswerSources.Boxed)?.Text;
        if (answer is null) return new Verdict(null, false) { Reason = "no <answer> tag" };
        return Check(answer, puzzle, Options.ExactlyOnce) is { } reason
            ? new Verdict(answer, false) { Reason = reason }
            : new Verdict(answer, true);
    }

    /// <summary>Null when <paramref name="expression"/> solves <paramref name="puzzle"/>, else why not.</summary>
    public static string? Check(string expression, CountdownPuzzle puzzle, bool exactlyOnce)
    {
        if (!CountdownExpression.TryEvaluate(expression, out var result, out var error)) return error;
        var available = puzzle.Numbers.Select(n => new BigInteger(n)).GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
        foreach (var number in result!.Numbers)
        {
            if (!available.TryGetValue(number, out var left) || left == 0)
                return available.ContainsKey(number) ? $"uses {number} more often than given" : $"uses {AnswerVerifier.Truncate(number.ToString())}, which is not given";
            available[number] = left - 1;
        }
        if (exactlyOnce && available.Values.Any(v => v > 0)) return "does not use every number";
        if (result.Claimed is { } claimed && claimed != puzzle.Target) return $"claims = {claimed}, target is {puzzle.Target}";
        if (result.Value != (Rational)puzzle.Target) return $"evaluates to {result.Value}, not {puzzle.Target}";
        return null;
    }

    public string? CheckGold(string gold) =>
        CountdownPuzzle.TryParse(gold, out _) ? null : $"gold answer '{AnswerVerifier.Truncate(gold)}' is not a puzzle like '3 4 5 6 -> 24'";
}
