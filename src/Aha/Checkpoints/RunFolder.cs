namespace Aha.Checkpoints;

/// <summary>Checks on a run folder that belong before step 1, not after an hour of training.</summary>
public static class RunFolder
{
    /// <summary>
    /// Creates <paramref name="runDir"/> if needed and writes, flushes and deletes a probe file in it, so a read-only,
    /// unmounted or unwritable folder is refused at once with the reason, instead of at the first checkpoint.
    /// </summary>
    /// <exception cref="IOException">The folder cannot be created or written; the message names it and the fix.</exception>
    public static void EnsureWritable(string runDir)
    {
        string probe = Path.Combine(runDir, $".write-probe-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(runDir);
            using (var stream = new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
                stream.WriteByte(0);
                stream.Flush(flushToDisk: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"--out {runDir} is not writable ({e.Message}); the run would fail at its first checkpoint. " +
                "Fix the folder's permissions or free space, or choose another --out.", e);
        }
    }
}
