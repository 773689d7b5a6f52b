namespace Aha.Training;

/// <summary>Linear warmup then cosine decay to <c>minRatio × peak</c>, the schedule of nanochat and most LM recipes.</summary>
public static class LearningRate
{
    public static double WarmupCosine(long step, long totalSteps, long warmupSteps, double peak, double minRatio = 0.1)
    {
        if (warmupSteps > 0 && step < warmupSteps) return peak * (step + 1) / warmupSteps;
        if (totalSteps <= warmupSteps) return peak;
        double progress = Math.Clamp((double)(step - warmupSteps) / (totalSteps - warmupSteps), 0, 1);
        return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
