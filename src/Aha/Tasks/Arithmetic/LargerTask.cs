using Aha.Tasks.Answers;

namespace Aha.Tasks.Arithmetic;

/// <summary>
/// The toy "general" prompts of <c>aha pipeline r1</c>: a plain question that needs no reasoning, <c>Which is larger, 47 or
/// 38?</c>. A good answer is the right number given directly, <c>&lt;answer&gt;47&lt;/answer&gt;</c>: the verifier accepts
/// it only without a <c>&lt;think&gt;</c> block, so "helpful" here means right and not thinking when there is nothing to
/// think about (R1's non-reasoning data). Two different two-digit numbers; split by a stable hash like every task.
/// </summary>
public sealed class LargerTask : ITask
{
    readonly AnswerVerifier _verifier = new() { Sources = AnswerSources.AnswerTag };

    public string Name => "larger";

    public IEnumerable<TaskItem> Items(TaskSplit split = TaskSplit.All, long seed = 0)
    {
        for (long index = 0; ; index++)
        {
            var item = Generate(seed, index);
            if (SplitRule.Contains(split, "larger:" + item.Prompt)) yield return item;
        }
    }

    /// <summary>The problem at (seed, index) of the unsplit stream.</summary>
    public static TaskItem Generate(long seed, long index)
    {
        var random = StableRandom.For(seed ^ 0x1A26E5, index);
        int a = random.Next(10, 99), b = random.Next(10, 98);
        if (b >= a) b++; // two different numbers, uniform over ordered pairs
        return new TaskItem($"larger-{seed}-{index}", $"Which is larger, {a} or {b}?", Math.Max(a, b).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Right only for the larger number inside &lt;answer&gt; with no &lt;think&gt; block.</summary>
    public Verdict Verify(string completion, TaskItem item)
    {
        var verdict = _verifier.Verify(completion, item.Answer);
        return completion.Contains("<think>", StringComparison.Ordinal)
            ? verdict with { Correct = false, Reason = "thought about a plain question" }
            : verdict;
    }

    public string? CheckGold(string gold) => _verifier.CheckNumericGold(gold);

    /// <summary>The plain answer the built-in non-reasoning data uses (leading space as the demo's bare answers).</summary>
    public static string PlainAnswer(TaskItem item) => $" <answer>{item.Answer}</answer>";
}
