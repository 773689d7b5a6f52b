using System.Diagnostics;
using static TorchSharp.torch;

namespace Aha.Runtime;

/// <summary>
/// How fast this machine streams memory right now: the bound for batch-1 decoding, which must read every weight once per
/// token. Measured, like <see cref="MatmulPeak"/>, because it depends on the machine and on who else shares it.
/// </summary>
public static class MemoryBandwidth
{
    /// <summary>Bytes/s of the fastest full read (a sum) of a <paramref name="megabytes"/> MB fp32 tensor, repeated for about <paramref name="seconds"/>.</summary>
    public static double Measure(double seconds = 0.5, int megabytes = 256)
    {
        if (seconds <= 0) throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "measure for a positive time.");
        if (megabytes <= 0) throw new ArgumentOutOfRangeException(nameof(megabytes), megabytes, "the buffer size must be positive.");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long count = megabytes * 1024L * 1024 / sizeof(float);
        var data = ones(count); // far larger than any cache, so every read comes from memory
        data.sum().item<float>();
        var total = Stopwatch.StartNew();
        double best = double.MaxValue;
        do
        {
            var one = Stopwatch.StartNew();
            using (var sum = data.sum()) sum.item<float>();
            best = Math.Min(best, one.Elapsed.TotalSeconds);
        } while (total.Elapsed.TotalSeconds < seconds);
        return count * sizeof(float) / best;
    }
}
