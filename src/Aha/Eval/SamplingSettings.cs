namespace Aha.Eval;

/// <summary>
/// How evaluation samples. One sample is greedy (temperature 0) pass@1; more follow the DeepSeek-R1 evaluation
/// protocol, temperature 0.6 and top-p 0.95, since greedy decoding of long reasoning repeats itself.
/// </summary>
public sealed record SamplingSettings(int Samples, double Temperature, double TopP, int MaxNewTokens)
{
    public const double R1Temperature = 0.6;
    public const double R1TopP = 0.95;

    public static SamplingSettings For(int samples, int maxNewTokens = 256) =>
        samples <= 1 ? new(1, 0.0, 1.0, maxNewTokens) : new(samples, R1Temperature, R1TopP, maxNewTokens);
}
