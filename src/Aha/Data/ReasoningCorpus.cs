using System.Text;
using System.Text.RegularExpressions;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;

namespace Aha.Data;

/// <summary>
/// The demo's built-in pretraining corpus: addition problems in the short R1-Zero template, answered the way web text
/// answers them. Some answers are worked column additions inside <c>&lt;think&gt;</c> (a few catch and fix a slip with
/// "wait"), most are bare <c>&lt;answer&gt;</c>s that are often wrong (the carries forgotten). A model pretrained on it
/// can reason but usually does not; reinforcement learning with a rule-checked reward has something to select.
/// Only train-split problems are used, so held-out problems are never seen in pretraining.
/// </summary>
public sealed partial class ReasoningCorpus
{
    readonly ArithmeticTask _task;

    public ReasoningCorpus(ArithmeticTask task, ReasoningCorpusOptions? options = null)
    {
        if (task.Options.Operations != "+" || task.Options.MaxOperands != 2)
            throw new ArgumentException("the reasoning corpus writes worked solutions for two-operand addition only; use arithmetic options with Operations \"+\" and 2 operands.");
        _task = task;
        Options = (options ?? new ReasoningCorpusOptions()).Validate();
    }

    public ReasoningCorpusOptions Options { get; }

    /// <summary>Endless documents (prompt and completion), a pure function of the seed; the test split only for validation loss.</summary>
    public IEnumerable<string> Documents(long seed, TaskSplit split = TaskSplit.Train)
    {
        long index = 0;
        foreach (var item in _task.Items(split, seed))
        {
            var random = StableRandom.For(seed ^ 0x5EED, index++);
            yield return Prompts.Render(item.Prompt, PromptStyle.Short) + Completion(item, random);
        }
    }

    /// <summary>One completion for <paramref name="item"/>, worked or bare, as the options' shares say.</summary>
    public string Completion(TaskItem item, StableRandom random)
    {
        var (a, b) = Operands(item);
        if (Unit(random) < Options.WorkedShare) return " " + WorkedAddition(a, b, random, Options.SlipRate);
        long answer = Unit(random) < Options.BareCorrectShare ? a + b : CarrylessSum(a, b);
        return $" <answer>{answer}</answer>";
    }

    /// <summary>
    /// Column addition from the units up, e.g. <c>&lt;think&gt;7+8=15, 4+3+1=8, so 85&lt;/think&gt; &lt;answer&gt;85&lt;/answer&gt;</c>;
    /// with probability <paramref name="slipRate"/> per column a wrong sum is written, then caught: <c>4+3+1=9, wait, 4+3+1=8</c>.
    /// </summary>
    public static string WorkedAddition(long a, long b, StableRandom random, double slipRate)
    {
        var steps = new List<string>();
        long carry = 0;
        for (long x = a, y = b; x > 0 || y > 0; x /= 10, y /= 10)
        {
            long dx = x % 10, dy = y % 10, sum = dx + dy + carry;
            string lhs = carry > 0 ? $"{dx}+{dy}+{carry}" : $"{dx}+{dy}";
            steps.Add(Unit(random) < slipRate
                ? $"{lhs}={sum + (random.Next(0, 1) == 0 ? -1 : 1)}, wait, {lhs}={sum}"
                : $"{lhs}={sum}");
            carry = sum / 10;
        }
        return $"<think>{string.Join(", ", steps)}, so {a + b}</think> <answer>{a + b}</answer>";
    }

    /// <summary>
    /// The cold-start format of <c>aha pipeline r1</c>: the column sums in the corpus's own notation, then the same walked
    /// through in sentences that name each column, then a one-line summary, e.g. <c>&lt;think&gt;7+8=15, 4+3+1=8, so 85.
    /// Units: 15, write 5, carry 1. Tens: 8, write 8. The sum is 85.&lt;/think&gt; &lt;answer&gt;85&lt;/answer&gt;</c>
    /// (R1's reasoning-then-summary, with R1-Zero's tags as the delimiters). The sums come first because a sentence before
    /// them moves every operand the tiny base model learned to copy: written sentence-first, 150 SFT steps left its
    /// accuracy at 3% (dev/log/pipeline.md).
    /// </summary>
    public static string ReadableAddition(long a, long b)
    {
        string[] columns = ["Units", "Tens", "Hundreds", "Thousands"];
        var sums = new List<string>();
        var sentences = new List<string>();
        long carry = 0;
        int column = 0;
        for (long x = a, y = b; x > 0 || y > 0; x /= 10, y /= 10, column++)
        {
            long dx = x % 10, dy = y % 10, sum = dx + dy + carry;
            sums.Add(carry > 0 ? $"{dx}+{dy}+{carry}={sum}" : $"{dx}+{dy}={sum}");
            carry = sum / 10;
            sentences.Add(carry > 0 ? $"{Column(column)}: {sum}, write {sum % 10}, carry {carry}." : $"{Column(column)}: {sum}, write {sum}.");
        }
        if (carry > 0) sentences.Add($"{Column(column)}: carry {carry}.");
        return $"<think>{string.Join(", ", sums)}, so {a + b}. {string.Join(" ", sentences)} The sum is {a + b}.</think> <answer>{a + b}</answer>";

        string Column(int i) => i < columns.Length ? columns[i] : $"Column {i + 1}";
    }

    /// <summary>The readable worked solution of an addition problem of this corpus's task, as a completion (leading space as in <see cref="Completion"/>).</summary>
    public static string ReadableCompletion(TaskItem item)
    {
        var (a, b) = Operands(item);
        return " " + ReadableAddition(a, b);
    }

    /// <summary>The worked solution of <paramref name="item"/> without slips, as a teacher writes it (the completion, with its leading space).</summary>
    public static string CleanSolution(TaskItem item)
    {
        var (a, b) = Operands(item);
        return " " + WorkedAddition(a, b, StableRandom.For(0, 0), slipRate: 0);
    }

    /// <summary>The sum with every carry forgotten (47+38 → 75): the typical wrong bare answer.</summary>
    public static long CarrylessSum(long a, long b)
    {
        var digits = new StringBuilder();
        for (long x = a, y = b; x > 0 || y > 0; x /= 10, y /= 10) digits.Insert(0, (x % 10 + y % 10) % 10);
        return digits.Length == 0 ? 0 : long.Parse(digits.ToString());
    }

    /// <summary>The two addends of an addition problem (shared with <see cref="JudgementCorpus"/>).</summary>
    internal static (long A, long B) Operands(TaskItem item)
    {
        var match = AdditionPattern().Match(item.Prompt);
        if (!match.Success) throw new ArgumentException($"problem '{item.Prompt}' is not an addition of two numbers.");
        return (long.Parse(match.Groups[1].Value), long.Parse(match.Groups[2].Value));
    }

    static double Unit(StableRandom random) => (random.NextULong() >> 11) * (1.0 / (1UL << 53));

    [GeneratedRegex(@"(\d+)\+(\d+)")]
    private static partial Regex AdditionPattern();
}
