namespace Aha.Tests;

/// <summary>Baselines for leak tests.</summary>
static class LiveTensors
{
    /// <summary>
    /// Finalises what earlier code left unreachable (tensor wrappers from building models, other tests' garbage) before a
    /// leak test takes its baseline; otherwise a GC that happens to run mid-test lowers the count and fails the test for
    /// reasons outside the code under test.
    /// </summary>
    public static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
