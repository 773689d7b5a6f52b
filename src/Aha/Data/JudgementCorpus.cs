using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Aha.Constitutional;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;

namespace Aha.Data;

/// <summary>The mix of <see cref="JudgementCorpus"/>.</summary>
public sealed record JudgementCorpusOptions
{
    /// <summary>Share of documents that are A-vs-B judgements; <see cref="CritiqueShare"/> are critique-and-revision exchanges; the rest are the demo's reasoning documents.</summary>
    public double JudgementShare { get; init; } = 0.3;
    public double CritiqueShare { get; init; } = 0.3;
    /// <summary>Share of judgements whose answer is reversed: the taught judge is imperfect on purpose.</summary>
    public double LabelNoise { get; init; } = 0.1;
    /// <summary>Share of critiques whose own working slips a column (the revision then follows the slip).</summary>
    public double CritiqueNoise { get; init; } = 0.1;

    public JudgementCorpusOptions Validate()
    {
        foreach (var (name, value) in new[] { ("judgement_share", JudgementShare), ("critique_share", CritiqueShare), ("label_noise", LabelNoise), ("critique_noise", CritiqueNoise) })
            if (value is < 0 or > 1 || double.IsNaN(value)) throw new ArgumentException($"judgement corpus: {name} = {value} must be between 0 and 1.");
        if (JudgementShare + CritiqueShare > 1) throw new ArgumentException($"judgement corpus: judgement_share + critique_share = {JudgementShare + CritiqueShare} exceeds 1.");
        return this;
    }
}

/// <summary>
/// Teaches a byte model to be a Constitutional AI model on the addition task (<c>--corpus cai</c>): besides the demo's
/// reasoning documents, A-vs-B judgements (<see cref="CaiText.Judgement"/> then <c>A)</c> or <c>B)</c>: the verifier's choice,
/// the worked answer between two equally right ones, reversed for <see cref="JudgementCorpusOptions.LabelNoise"/> of them) and
/// critique-and-revision exchanges (the critique works the sum column by column and compares it with the answer; the
/// revision writes the worked sum). Responses look like the base model's samples: worked or bare, right, with an unnoticed
/// slip, or with the carries forgotten. Principles are sampled from the constitution. Train-split problems only.
/// </summary>
public sealed partial class JudgementCorpus
{
    readonly ArithmeticTask _task;
    readonly Constitution _constitution;

    public JudgementCorpus(ArithmeticTask task, Constitution? constitution = null, JudgementCorpusOptions? options = null)
    {
        _task = task;
        _constitution = constitution ?? Constitution.Arithmetic;
        Options = (options ?? new JudgementCorpusOptions()).Validate();
    }

    public JudgementCorpusOptions Options { get; }

    /// <summary>Endless documents, a pure function of the seed.</summary>
    public IEnumerable<string> Documents(long seed, TaskSplit split = TaskSplit.Train)
    {
        var reasoning = new ReasoningCorpus(_task);
        long index = 0;
        foreach (var item in _task.Items(split, seed))
        {
            var random = StableRandom.For(seed ^ 0xC41, index);
            var principle = _constitution.Sample(seed, index++);
            double kind = random.NextDouble();
            string prompt = Prompts.Render(item.Prompt, PromptStyle.Short);
            if (kind < Options.JudgementShare) yield return Judgement(item, prompt, principle, random);
            else if (kind < Options.JudgementShare + Options.CritiqueShare) yield return CritiqueAndRevision(item, prompt, principle, random);
            else yield return prompt + reasoning.Completion(item, random);
        }
    }

    /// <summary>A judgement document: two different responses, the question, and the taught answer.</summary>
    public string Judgement(TaskItem item, string prompt, Principle principle, StableRandom random)
    {
        var (a, b) = ReasoningCorpus.Operands(item);
        var first = Response(a, b, random);
        var second = Response(a, b, random);
        for (int tries = 0; second.Text == first.Text && tries < 8; tries++) second = Response(a, b, random);
        bool prefersFirst = first.Correct != second.Correct ? first.Correct
            : first.Worked != second.Worked ? first.Worked
            : random.NextDouble() < 0.5;
        if (random.NextDouble() < Options.LabelNoise) prefersFirst = !prefersFirst;
        return CaiText.Judgement(prompt, first.Text, second.Text, principle) + (prefersFirst ? "A)" : "B)");
    }

    /// <summary>A critique-and-revision document on one response.</summary>
    public string CritiqueAndRevision(TaskItem item, string prompt, Principle principle, StableRandom random)
    {
        var (a, b) = ReasoningCorpus.Operands(item);
        var response = Response(a, b, random);
        bool slip = random.NextDouble() < Options.CritiqueNoise;
        var (columns, value) = Columns(a, b, slip ? random.Next(0, Digits(a, b) - 1) : -1, random.NextDouble() < 0.5 ? -1 : 1);
        long? given = Given(response.Text);
        string verdict = given == value ? "right." : given is null ? "no answer." : $"not {given}.";
        string critiquePrompt = CaiText.Critique(prompt, response.Text, principle);
        return CaiText.Revision(critiquePrompt, $"{columns}, so {value}, {verdict}", principle) + $" <think>{columns}, so {value}</think> <answer>{value}</answer>";
    }

    /// <summary>A response as the demo's base writes them: worked (right, or with an unnoticed slip) or bare (right, carries forgotten, or off by ten).</summary>
    public static (string Text, bool Correct, bool Worked) Response(long a, long b, StableRandom random)
    {
        double kind = random.NextDouble();
        long sum = a + b;
        if (kind < 0.5)
        {
            int slip = kind < 0.3 ? -1 : random.Next(0, Digits(a, b) - 1);
            var (columns, value) = Columns(a, b, slip, random.NextDouble() < 0.5 ? -1 : 1);
            return ($" <think>{columns}, so {value}</think> <answer>{value}</answer>", value == sum, true);
        }
        long answer = kind < 0.7 ? sum : kind < 0.9 ? ReasoningCorpus.CarrylessSum(a, b) : sum + (random.NextDouble() < 0.5 ? -10 : 10);
        return ($" <answer>{answer}</answer>", answer == sum, false);
    }

    /// <summary>
    /// Column addition from the units up (<c>7+8=15, 4+3+1=8</c>) and the value it writes; column <paramref name="slipColumn"/>
    /// (−1: none) is written off by <paramref name="delta"/> and the working carries on from the written sum, as a person's would.
    /// </summary>
    public static (string Columns, long Value) Columns(long a, long b, int slipColumn, int delta)
    {
        var steps = new List<string>();
        long carry = 0, value = 0, place = 1;
        int column = 0;
        for (long x = a, y = b; x > 0 || y > 0; x /= 10, y /= 10, column++, place *= 10)
        {
            long dx = x % 10, dy = y % 10, sum = dx + dy + carry;
            if (column == slipColumn) sum = Math.Max(0, sum + delta);
            steps.Add(carry > 0 ? $"{dx}+{dy}+{carry}={sum}" : $"{dx}+{dy}={sum}");
            value += sum % 10 * place;
            carry = sum / 10;
        }
        value += carry * place;
        return (string.Join(", ", steps), value);
    }

    static int Digits(long a, long b) => Math.Max(a, b).ToString(CultureInfo.InvariantCulture).Length;

    static long? Given(string response)
    {
        var match = AnswerPattern().Match(response);
        return match.Success && long.TryParse(match.Groups[1].Value, CultureInfo.InvariantCulture, out var v) ? v : null;
    }

    [GeneratedRegex(@"<answer>\s*(-?\d+)\s*</answer>")]
    private static partial Regex AnswerPattern();
}
