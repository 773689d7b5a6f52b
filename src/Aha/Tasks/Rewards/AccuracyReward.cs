namespace Aha.Tasks.Rewards;

/// <summary>1 when the task's verifier accepts the answer, else 0 (R1-Zero's accuracy reward).</summary>
public sealed class AccuracyReward(ITask task) : IRewardFunction
{
    public string Name => "accuracy";

    public float[] Score(IReadOnlyList<Completion> batch) =>
        batch.Select(c => task.Reward(c.Text, c.Item)).ToArray();
}
