fn main() {
    println!("tarski");
}
