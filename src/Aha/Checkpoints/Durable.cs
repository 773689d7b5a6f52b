using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Aha.Checkpoints;

/// <summary>Disk-durability helpers: a rename is only crash-safe once the renamed data and the folder entry are on disk.</summary>
static partial class Durable
{
    /// <summary>Writes <paramref name="text"/> to a temporary sibling, flushes it to disk and renames it over <paramref name="path"/>.</summary>
    public static void ReplaceText(string path, string text)
    {
        string tmp = $"{path}.tmp-{Environment.ProcessId}";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
        FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>fsyncs every file under <paramref name="directory"/> and the folder itself.</summary>
    public static void FlushTree(string directory)
    {
        foreach (string file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            stream.Flush(flushToDisk: true);
        }
        FlushDirectory(directory);
    }

    /// <summary>fsyncs a folder's entries (Linux only; .NET has no API for it, other systems skip).</summary>
    public static void FlushDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Open(directory, 0x10000 /* O_RDONLY | O_DIRECTORY */);
        if (fd < 0) return; // best effort: the data files themselves are already flushed
        _ = Fsync(fd);
        _ = Close(fd);
    }

    /// <summary>True when a process with this id is running (so its temporary folder may still be in use).</summary>
    public static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
