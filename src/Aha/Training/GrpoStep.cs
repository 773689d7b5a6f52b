namespace Aha.Training;

/// <summary>What one GRPO step measured; <see cref="Scalars"/> is the row written to metrics.jsonl.</summary>
public sealed record GrpoStep(long Step, IReadOnlyDictionary<string, double> Scalars, IReadOnlyList<GrpoSample> Samples)
{
    public double this[string name] => Scalars.TryGetValue(name, out var v) ? v : double.NaN;
}

/// <summary>One rollout as the trainer saw it, kept for reports ("what did the model write at step N").</summary>
public sealed record GrpoSample(string Prompt, string Completion, float Reward, bool Correct, int Tokens);
