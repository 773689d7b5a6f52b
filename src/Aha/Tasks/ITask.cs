namespace Aha.Tasks;

/// <summary>
/// A source of problems with a rule-based checker: prompt, gold answer, verifier, reward.
/// Verifiers read untrusted model output and must never throw on it.
/// </summary>
public interface ITask
{
    /// <summary>Name as used on the command line (<c>arithmetic</c>, <c>countdown</c>, <c>gsm8k</c>, …).</summary>
    string Name { get; }

    /// <summary>
    /// Problems of a split in a fixed order. Generated tasks enumerate without end (take what you need) and are
    /// a pure function of (seed, index); datasets list their rows once, in file order, and ignore the seed.
    /// </summary>
    IEnumerable<TaskItem> Items(TaskSplit split = TaskSplit.All, long seed = 0);

    /// <summary>Reads the answer in <paramref name="completion"/> and checks it against <paramref name="item"/>'s gold.</summary>
    Verdict Verify(string completion, TaskItem item);

    /// <summary>Null when <paramref name="gold"/> is a usable gold answer for this task, else what is wrong with it.</summary>
    string? CheckGold(string gold);

    /// <summary>The accuracy reward: 1 for a correct answer, 0 otherwise.</summary>
    float Reward(string completion, TaskItem item) => Verify(completion, item).Correct ? 1f : 0f;

    /// <summary>The prompt the model sees, in the given template.</summary>
    string Render(TaskItem item, PromptStyle style) => Prompts.Render(item.Prompt, style);
}
