namespace Aha.Tasks;

/// <summary>
/// Two kinds of prompt in one training stream, as R1's all-scenario RL (stage 4) trains on: reasoning problems and
/// general prompts. Every <see cref="GeneralEvery"/>-th problem is a general one; the others are reasoning ones. Each item
/// keeps its own task's prompt and gold, its id prefixed with <see cref="GeneralPrefix"/> or <see cref="ReasoningPrefix"/>,
/// so verifiers and scenario-routed rewards (<see cref="Rewards.ScenarioReward"/>) know which task it came from.
/// </summary>
public sealed class ScenarioTask : ITask
{
    public const string ReasoningPrefix = "reasoning:";
    public const string GeneralPrefix = "general:";

    public ScenarioTask(ITask reasoning, ITask general, int generalEvery)
    {
        if (generalEvery < 2) throw new ArgumentOutOfRangeException(nameof(generalEvery), generalEvery, "general prompts come every N problems with N ≥ 2 (2: half of them).");
        (Reasoning, General, GeneralEvery) = (reasoning, general, generalEvery);
    }

    public ITask Reasoning { get; }
    public ITask General { get; }
    public int GeneralEvery { get; }

    public string Name => $"{Reasoning.Name}+{General.Name}";

    /// <summary>True for an item of the general task.</summary>
    public static bool IsGeneral(TaskItem item) => item.Id.StartsWith(GeneralPrefix, StringComparison.Ordinal);

    public IEnumerable<TaskItem> Items(TaskSplit split = TaskSplit.All, long seed = 0)
    {
        using var reasoning = Reasoning.Items(split, seed).GetEnumerator();
        using var general = General.Items(split, seed).GetEnumerator();
        for (long index = 0; ; index++)
        {
            bool isGeneral = index % GeneralEvery == GeneralEvery - 1;
            var source = isGeneral ? general : reasoning;
            if (!source.MoveNext()) yield break; // a finite task ends the mix
            yield return source.Current with { Id = (isGeneral ? GeneralPrefix : ReasoningPrefix) + source.Current.Id };
        }
    }

    public Verdict Verify(string completion, TaskItem item) => (IsGeneral(item) ? General : Reasoning).Verify(completion, item);

    /// <summary>Null when either task accepts <paramref name="gold"/>.</summary>
    public string? CheckGold(string gold) => Reasoning.CheckGold(gold) is null ? null : General.CheckGold(gold);

    public string Render(TaskItem item, PromptStyle style) => (IsGeneral(item) ? General : Reasoning).Render(item, style);
}
