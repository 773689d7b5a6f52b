using Aha.Tasks;
using Aha.Tasks.Countdown;

namespace Aha.Data;

/// <summary>
/// The pretraining corpus of <c>aha demo --task signs</c>: sign puzzles (<see cref="SignsTask"/>) in the short
/// R1-Zero template, answered three ways. Retry traces try a pattern, check it, reject it and try again:
/// <c>&lt;think&gt;3+7=10-5=5+2=7, not 13. wait, 3+7=10+5=15-2=13&lt;/think&gt; &lt;answer&gt;3+7+5-2&lt;/answer&gt;</c>
/// (a running total, one single-digit step at a time: a tiny model can learn that arithmetic, not a 4-term sum at once); some give up
/// and answer a rejected pattern, some trust a slip, so not every trace ends right (Gandhi et al. 2025: priming with
/// such traces is what lets RL amplify them). Clean solutions write the right pattern at once; bare guesses answer
/// a random pattern with no reasoning. Only train-split problems are used.
/// </summary>
public sealed class RetryCorpus
{
    readonly SignsTask _task;

    public RetryCorpus(SignsTask task, RetryCorpusOptions? options = null)
    {
        _task = task;
        Options = (options ?? new RetryCorpusOptions()).Validate();
    }

    public RetryCorpusOptions Options { get; }

    /// <summary>Endless documents (prompt and completion), a pure function of the seed.</summary>
    public IEnumerable<string> Documents(long seed, TaskSplit split = TaskSplit.Train)
    {
        long index = 0;
        foreach (var item in _task.Items(split, seed))
        {
            var random = StableRandom.For(seed ^ 0x7E7121, index++);
            yield return Prompts.Render(item.Prompt, PromptStyle.Short) + Completion(item, random);
        }
    }

    /// <summary>One completion for <paramref name="item"/>: a retry trace, a clean solution or a bare guess, as the shares say.</summary>
    public string Completion(TaskItem item, StableRandom random)
    {
        if (!CountdownPuzzle.TryParse(item.Answer, out var puzzle))
            throw new ArgumentException($"problem {item.Id}: gold '{item.Answer}' is not a sign puzzle like '3 7 5 -> 9'.");
        var patterns = Shuffled(SignsTask.Patterns(puzzle.Numbers.Count), random);
        var kind = Unit(random);
        if (kind < Options.RetryShare) return " " + RetryTrace(puzzle, patterns, random);
        if (kind < Options.RetryShare + Options.CleanShare)
        {
            var right = patterns.First(p => SignsTask.Value(puzzle.Numbers, p) == puzzle.Target);
            return $" <think>{Chain(puzzle.Numbers, right, null)}</think> <answer>{SignsTask.Write(puzzle.Numbers, right)}</answer>";
        }
        return $" <answer>{SignsTask.Write(puzzle.Numbers, patterns[0])}</answer>";
    }

    /// <summary>
    /// Checks patterns in <paramref name="order"/> until one's written value is the target, at most
    /// <see cref="RetryCorpusOptions.MaxTries"/>; a give-up stops after a random number of rejections and answers the last one.
    /// </summary>
    public string RetryTrace(CountdownPuzzle puzzle, IReadOnlyList<char[]> order, StableRandom random)
    {
        var limit = Math.Min(Options.MaxTries, order.Count);
        if (Unit(random) < Options.GiveUpRate) limit = Math.Min(limit, random.Next(1, Math.Max(1, order.Count - 1)));
        var steps = new List<string>();
        string answer = "";
        for (var i = 0; i < limit; i++)
        {
            answer = SignsTask.Write(puzzle.Numbers, order[i]);
            var marker = i > 0 && Unit(random) < Options.WaitRate ? "wait, " : "";
            var chain = Chain(puzzle.Numbers, order[i], random);
            var value = int.Parse(chain[(chain.LastIndexOf('=') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            if (value == puzzle.Target)
            {
                steps.Add(marker + chain);
                break;
            }
            steps.Add($"{marker}{chain}, not {puzzle.Target}");
        }
        return $"<think>{string.Join(". ", steps)}</think> <answer>{answer}</answer>";
    }

    /// <summary>
    /// The running total, e.g. <c>3+7=10-5=5+2=7</c>; with a generator, each step may slip by one
    /// (<see cref="RetryCorpusOptions.SlipRate"/>) and the chain goes on from the written value, as a person's would.
    /// </summary>
    public string Chain(IReadOnlyList<int> numbers, IReadOnlyList<char> signs, StableRandom? random)
    {
        var text = new System.Text.StringBuilder().Append(numbers[0]);
        var total = numbers[0];
        for (var i = 0; i < signs.Count; i++)
        {
            total += signs[i] == '+' ? numbers[i + 1] : -numbers[i + 1];
            if (random is not null && Unit(random) < Options.SlipRate) total += random.Next(0, 1) == 0 ? -1 : 1;
            text.Append(signs[i]).Append(numbers[i + 1]).Append('=').Append(total);
        }
        return text.ToString();
    }

    static List<char[]> Shuffled(IReadOnlyList<char[]> patterns, StableRandom random)
    {
        var list = patterns.ToList();
        for (var i = list.Count - 1; i > 0; i--) { var j = random.Next(0, i); (list[i], list[j]) = (list[j], list[i]); }
        return list;
    }

    static double Unit(StableRandom random) => (random.NextULong() >> 11) * (1.0 / (1UL << 53));
}
