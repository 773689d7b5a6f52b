using System.Globalization;

namespace Aha.Checkpoints;

/// <summary>
/// Test seams in the checkpoint save path, so disk-full and kill-during-save behaviour is tested without root or luck.
/// Every file a save writes passes <see cref="BeforeWrite"/> first.
/// </summary>
/// <remarks>
/// Two environment variables reach the real CLI (read once per process; unset in normal use):
/// <c>AHA_FAULT_SAVE_DELAY_MS</c> sleeps that long before each file of a save, so a random SIGKILL often lands inside one;
/// <c>AHA_FAULT_DISK_FULL_AT</c>=N fails the N-th file write of the process (1-based) as a full disk would.
/// In-process tests use <see cref="Inject"/>, which is scoped to the calling flow (tests run in parallel).
/// </remarks>
static class SaveFaults
{
    static readonly int DelayMs = ReadInt("AHA_FAULT_SAVE_DELAY_MS");
    static readonly int DiskFullAt = ReadInt("AHA_FAULT_DISK_FULL_AT");
    static int _writes;
    static readonly AsyncLocal<Func<string, Exception?>?> Injected = new();

    /// <summary>Runs <paramref name="body"/> with <paramref name="fault"/> consulted before each checkpoint file write of this flow; a non-null result is thrown.</summary>
    public static void Inject(Func<string, Exception?> fault, Action body)
    {
        var previous = Injected.Value;
        Injected.Value = fault;
        try { body(); }
        finally { Injected.Value = previous; }
    }

    /// <summary>The error a full disk gives (ENOSPC), naming the file.</summary>
    public static IOException DiskFull(string path) => new($"No space left on device : '{path}'", 28);

    /// <summary>Called with the path about to be written.</summary>
    public static void BeforeWrite(string path)
    {
        if (DelayMs > 0) Thread.Sleep(DelayMs);
        if (DiskFullAt > 0 && Interlocked.Increment(ref _writes) == DiskFullAt) throw DiskFull(path);
        if (Injected.Value?.Invoke(path) is { } fault) throw fault;
    }

    static int ReadInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : 0;
}
