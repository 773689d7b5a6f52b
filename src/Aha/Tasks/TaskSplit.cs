namespace Aha.Tasks;

/// <summary>Which problems to enumerate. Train and Test never share a problem (see <see cref="SplitRule"/>).</summary>
public enum TaskSplit
{
    All,
    Train,
    Test,
}
