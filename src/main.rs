fn main() {
    std::process::exit(condaplay::cli::main());
}
