using System.Diagnostics;
using static TorchSharp.torch;

namespace Aha.Runtime;

/// <summary>
/// The fp32 matmul throughput this machine reaches right now, the denominator of MFU. Measured rather than looked up
/// because a CPU's real peak depends on its vector units, thread count and whoever else shares the cores.
/// </summary>
public static class MatmulPeak
{
    /// <summary>FLOP/s of repeated (n×n)·(n×n) fp32 matmuls on <paramref name="device"/> for about <paramref name="seconds"/>.</summary>
    public static double Measure(double seconds = 0.3, int n = 1024, Device? device = null)
    {
        if (seconds <= 0) throw new ArgumentOutOfRangeException(nameof(seconds), seconds, "measure for a positive time.");
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "the matrix size must be positive.");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // Fixed values, not randn: measuring mid-run must not move torch's global generator (matmul time does not depend on values).
        var a = linspace(-1, 1, (long)n * n, device: device).reshape(n, n);
        var b = a.t().contiguous();
        a.mm(b).Dispose(); // warm-up: the first call allocates workspaces and wakes the thread pool
        // The fastest single matmul, not the mean: on shared cores the mean measures the neighbours, and an
        // MFU above 100% (training that ran while the peak was measured in a busy moment) would mean nothing.
        var total = Stopwatch.StartNew();
        double best = double.MaxValue;
        do
        {
            var one = Stopwatch.StartNew();
            a.mm(b).Dispose(); // allocating the 4 MB result costs well under 1% of 2·n³ FLOPs
            if (device?.type == TorchSharp.DeviceType.CUDA) cuda.synchronize();
            best = Math.Min(best, one.Elapsed.TotalSeconds);
        } while (total.Elapsed.TotalSeconds < seconds);
        return 2.0 * n * n * n / best;
    }
}
