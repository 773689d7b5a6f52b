using System.Text;
using Aha.Tasks.Answers;

namespace Aha.Tasks.Arithmetic;

/// <summary>
/// Integer arithmetic such as <c>23+58*4</c> with an integer gold answer. Problem (seed, index) is always the same;
/// train and test are told apart by a stable hash of the expression, so a held-out problem is never trained on.
/// </summary>
public sealed class ArithmeticTask(ArithmeticOptions? options = null) : ITask
{
    public ArithmeticOptions Options { get; } = (options ?? new ArithmeticOptions()).Validate();
    public AnswerVerifier Verifier { get; init; } = new();

    public string Name => "arithmetic";

    public IEnumerable<TaskItem> Items(TaskSplit split = TaskSplit.All, long seed = 0)
    {
        for (long index = 0; ; index++)
        {
            var item = Generate(seed, index);
            if (SplitRule.Contains(split, CanonicalText(item))) yield return item;
        }
    }

    /// <summary>The problem at (seed, index) of the unsplit stream.</summary>
    public TaskItem Generate(long seed, long index)
    {
        var random = StableRandom.For(seed, index);
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var count = random.Next(Options.MinOperands, Options.MaxOperands);
            var operands = new long[count];
            var operators = new char[count - 1];
            for (var i = 0; i < count; i++)
            {
                var digits = random.Next(Options.MinDigits, Options.MaxDigits);
                operands[i] = digits == 1 ? random.Next(0, 9) : random.Next(Pow10(digits - 1), Pow10(digits) - 1);
                if (i > 0) operators[i - 1] = Options.Operations[random.Next(0, Options.Operations.Length - 1)];
            }
            var (value, steps) = Evaluate(operands, operators);
            if (value < 0 && !Options.AllowNegative) continue;
            var expression = Format(operands, operators);
            return new TaskItem($"{seed}-{index}", $"What is {expression}?", value.ToString())
            {
                Solution = $"{expression} = {string.Join(" = ", steps)}",
            };
        }
        throw new InvalidOperationException($"no non-negative problem found for {Options}; allow negative results or add '+'.");
    }

    public Verdict Verify(string completion, TaskItem item) => Verifier.Verify(completion, item.Answer);

    public string? CheckGold(string gold) =>
        AnswerNormalizer.Normalize(gold) is { Number: { IsInteger: true } } ? null : $"gold answer '{AnswerVerifier.Truncate(gold)}' is not an integer";

    /// <summary>The text the split hash reads: the expression alone, so the prompt wording can change without reshuffling splits.</summary>
    public static string CanonicalText(TaskItem item) =>
        "arithmetic:" + item.Prompt.Replace("What is ", "", StringComparison.Ordinal).TrimEnd('?');

    static int Pow10(int digits) => (int)Math.Pow(10, digits);

    static string Format(long[] operands, char[] operators)
    {
        var text = new StringBuilder().Append(operands[0]);
        for (var i = 0; i < operators.Length; i++) text.Append(operators[i]).Append(operands[i + 1]);
        return text.ToString();
    }

    // Products first, then sums left to right; each intermediate expression is one step of the worked solution.
    static (long Value, List<string> Steps) Evaluate(long[] operands, char[] operators)
    {
        var terms = new List<long> { operands[0] };
        var signs = new List<char>();
        for (var i = 0; i < operators.Length; i++)
        {
            if (operators[i] == '*') terms[^1] = checked(terms[^1] * operands[i + 1]);
            else { signs.Add(operators[i]); terms.Add(operands[i + 1]); }
        }
        var steps = new List<string>();
        if (operators.Contains('*')) steps.Add(Format([.. terms], [.. signs]));
        while (terms.Count > 1)
        {
            terms[0] = signs[0] == '+' ? terms[0] + terms[1] : terms[0] - terms[1];
            terms.RemoveAt(1);
            signs.RemoveAt(0);
            steps.Add(Format([.. terms], [.. signs]));
        }
        return (terms[0], steps);
    }
}
