using System.Runtime.InteropServices;

namespace Aha.Runtime;

/// <summary>
/// Hands freed C heap back to the operating system between training steps.
/// </summary>
/// <remarks>
/// libtorch allocates activations with malloc. glibc raises its mmap threshold each time a large block is freed, so after
/// the first steps every activation comes from the heap, and the heap's free space is kept, fragmented, rather than
/// returned: on `aha bench train` RSS grew 27% from step 10 to step 100 (3.1 → 3.9 GB, with a 2.1 GB true peak).
/// A fixed threshold (MALLOC_MMAP_THRESHOLD_=131072) kept RSS flat at 0.6 GB but cost 15% of throughput in page
/// faults. <c>malloc_trim</c> every few steps bounds the growth at a fraction of that cost (dev/LOG.md).
/// </remarks>
public static partial class NativeMemory
{
    /// <summary>Steps between trims in the trainers.</summary>
    public const int TrimEvery = 10;

    /// <summary>Trims after every <see cref="TrimEvery"/>-th completed step: the one cadence rule the run loop and the benchmarks share.</summary>
    public static void TrimOnCadence(long stepsCompleted)
    {
        if (stepsCompleted % TrimEvery == 0) Trim();
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    /// <summary>Returns free heap pages to the OS (glibc on Linux); does nothing elsewhere or if the C library lacks it.</summary>
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { _ = MallocTrim(0); }
        catch (EntryPointNotFoundException) { } // musl and other C libraries: nothing to trim this way
    }
}
