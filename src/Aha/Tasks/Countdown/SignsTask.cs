using System.Globalization;
using System.Text.RegularExpressions;
using Aha.Tasks.Answers;

namespace Aha.Tasks.Countdown;

/// <summary>
/// Countdown's search without its arithmetic: put + or − between the given numbers, in the given order, to reach the
/// target (<c>3 7 5 2 -> 13</c>: <c>3+7+5-2</c>). Finding the signs is a search over 2^(n−1)
/// patterns, checking one is a few one-digit sums: the asymmetry under which trying, checking and trying again pays
/// (issue 16). Puzzles are built from a random sign pattern, so every one is solvable; the target is never one of the
/// numbers. The gold answer is the puzzle (<see cref="CountdownPuzzle"/>): any sign pattern that reaches it counts.
/// </summary>
public sealed partial class SignsTask(SignsOptions? options = null) : ITask
{
    public SignsOptions Options { get; } = (options ?? new SignsOptions()).Validate();

    public string Name => "signs";

    public IEnumerable<TaskItem> Items(TaskSplit split = TaskSplit.All, long seed = 0)
    {
        for (long index = 0; ; index++)
        {
            var item = Generate(seed, index);
            if (SplitRule.Contains(split, "signs:" + item.Answer)) yield return item;
        }
    }

    public TaskItem Generate(long seed, long index)
    {
        var random = StableRandom.For(seed, index);
        for (var draw = 0; draw < 10_000; draw++)
        {
            var count = random.Next(Options.MinCount, Options.MaxCount);
            var numbers = Enumerable.Range(0, count).Select(_ => random.Next(Options.MinNumber, Options.MaxNumber)).ToArray();
            var signs = Enumerable.Range(0, count - 1).Select(_ => random.Next(0, 1) == 0 ? '+' : '-').ToArray();
            var expression = Write(numbers, signs);
            var target = Value(numbers, signs);
            // A target that is one of the numbers invites copying it; out of range is not a puzzle of this shape.
            if (target < Options.MinTarget || target > Options.MaxTarget || numbers.Contains(target)) continue;
            var puzzle = new CountdownPuzzle(numbers, target);
            return new TaskItem($"{seed}-{index}", PromptFor(puzzle), puzzle.ToString()) { Solution = expression };
        }
        throw new InvalidOperationException($"no puzzle found for {Options}; widen the target range.");
    }

    public static string PromptFor(CountdownPuzzle puzzle) =>
        $"Put + or - between {string.Join(' ', puzzle.Numbers)} to make {puzzle.Target}.";

    /// <summary>The numbers with <paramref name="signs"/> between them, e.g. <c>3+7-5+2</c>.</summary>
    public static string Write(IReadOnlyList<int> numbers, IReadOnlyList<char> signs)
    {
        if (signs.Count != numbers.Count - 1) throw new ArgumentException($"{numbers.Count} numbers need {numbers.Count - 1} signs, got {signs.Count}.");
        var text = new System.Text.StringBuilder(numbers[0].ToString(CultureInfo.InvariantCulture));
        for (var i = 0; i < signs.Count; i++) text.Append(signs[i]).Append(numbers[i + 1].ToString(CultureInfo.InvariantCulture));
        return text.ToString();
    }

    public static int Value(IReadOnlyList<int> numbers, IReadOnlyList<char> signs)
    {
        var value = numbers[0];
        for (var i = 0; i < signs.Count; i++) value += signs[i] == '+' ? numbers[i + 1] : -numbers[i + 1];
        return value;
    }

    /// <summary>Every sign pattern for <paramref name="numbers"/> (2^(n−1) of them), in binary order: + before −.</summary>
    public static IReadOnlyList<char[]> Patterns(int count)
    {
        var patterns = new List<char[]>();
        for (var mask = 0; mask < 1 << (count - 1); mask++)
            patterns.Add(Enumerable.Range(0, count - 1).Select(bit => (mask >> (count - 2 - bit) & 1) == 0 ? '+' : '-').ToArray());
        return patterns;
    }

    public Verdict Verify(string completion, TaskItem item)
    {
        if (!CountdownPuzzle.TryParse(item.Answer, out var puzzle))
            return new Verdict(null, false) { Reason = $"gold '{AnswerVerifier.Truncate(item.Answer)}' is not a puzzle like '3 7 5 -> 9'" };
        var answer = AnswerExtractor.Extract(completion, AnswerSources.AnswerTag)?.Text;
        if (answer is null) return new Verdict(null, false) { Reason = "no <answer> tag" };
        return Check(answer, puzzle) is { } reason ? new Verdict(answer, false) { Reason = reason } : new Verdict(answer, true);
    }

    /// <summary>Null when <paramref name="expression"/> (e.g. <c>3+7-5+2</c>, optionally <c>= 7</c>) solves the puzzle, else why not.</summary>
    public static string? Check(string expression, CountdownPuzzle puzzle)
    {
        var match = ExpressionPattern().Match(expression);
        if (!match.Success) return "not numbers joined by + and -";
        var numbers = match.Groups["n"].Captures.Select(c => c.Value).ToList();
        if (numbers.Count != puzzle.Numbers.Count || numbers.Any(n => n.Length > 6)
            || !numbers.Select(n => int.Parse(n, CultureInfo.InvariantCulture)).SequenceEqual(puzzle.Numbers))
            return $"must use {string.Join(' ', puzzle.Numbers)} in that order";
        var signs = match.Groups["s"].Captures.Select(c => c.Value[0]).ToArray();
        var value = Value(puzzle.Numbers, signs);
        if (match.Groups["claim"].Success && (!long.TryParse(match.Groups["claim"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var claimed) || claimed != puzzle.Target))
            return $"claims = {AnswerVerifier.Truncate(match.Groups["claim"].Value)}, target is {puzzle.Target}";
        return value == puzzle.Target ? null : $"evaluates to {value}, not {puzzle.Target}";
    }

    public string? CheckGold(string gold) =>
        CountdownPuzzle.TryParse(gold, out _) ? null : $"gold answer '{AnswerVerifier.Truncate(gold)}' is not a puzzle like '3 7 5 2 -> 9'";

    [GeneratedRegex(@"^\s*(?<n>\d+)(?:\s*(?<s>[+-])\s*(?<n>\d+))*\s*(?:=\s*(?<claim>-?\d+)\s*)?$")]
    private static partial Regex ExpressionPattern();
}
