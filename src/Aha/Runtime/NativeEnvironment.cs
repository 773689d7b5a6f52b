using System.Runtime.InteropServices;

namespace Aha.Runtime;

/// <summary>
/// Sets variables in the C library's environment, which native code (OpenMP inside libtorch) reads with getenv.
/// .NET's Environment.SetEnvironmentVariable changes only the runtime's managed copy on Unix, so it cannot do this.
/// </summary>
static partial class NativeEnvironment
{
    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    /// <summary>Sets <paramref name="name"/> unless the user already has (their choice wins); Unix only.</summary>
    public static void SetDefault(string name, string value)
    {
        if (OperatingSystem.IsWindows() || Environment.GetEnvironmentVariable(name) is not null) return;
        _ = SetEnv(name, value, overwrite: 0);
    }
}
