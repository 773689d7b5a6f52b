namespace Aha.Reports;

/// <summary>The PNG plots of a DPO run folder, drawn from its metrics.jsonl (so a resumed run plots its whole history).</summary>
public static class DpoReport
{
    /// <summary>Writes the plots into <paramref name="runDir"/> and returns their file names.</summary>
    public static IReadOnlyList<string> WritePlots(string runDir)
    {
        string metrics = Path.Combine(runDir, "metrics.jsonl");
        if (!File.Exists(metrics)) return [];
        var steps = MetricsReader.Read(metrics, "dpo");
        var evals = MetricsReader.Read(metrics, "eval");
        return ReportPlots.Curves(runDir, "DPO step",
        [
            ("dpo_loss.png", "DPO loss", "loss", steps, [("loss", "loss")]),
            ("dpo_rewards.png", "Implicit rewards β(log π − log π_ref)", "reward", steps,
                [("rewards/chosen", "chosen"), ("rewards/rejected", "rejected"), ("rewards/margins", "margin")]),
            ("dpo_reward_accuracy.png", "Share of pairs whose chosen reward is ahead", "rewards/accuracies", steps, [("rewards/accuracies", "rewards/accuracies")]),
            ("dpo_logps.png", "Sequence log-probs under the policy", "Σ log π", steps, [("logps/chosen", "chosen"), ("logps/rejected", "rejected")]),
            ("heldout_accuracy.png", "Held-out greedy accuracy (task verifier)", "accuracy", evals, [("accuracy", "accuracy")]),
            ("heldout_length.png", "Held-out completion length", "tokens", evals, [("completion_tokens", "mean tokens")]),
        ]).Select(f => f.File).ToList();
    }
}
