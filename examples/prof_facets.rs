use acadex::index::{IndexReader, SearchRequest, Sort};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reader = IndexReader::open(std::path::Path::new(&args[1])).unwrap();
    let facets: Vec<String> = args[3].split(',').filter(|s| !s.is_empty()).map(String::from).collect();
    let limit: usize = args.get(5).map_or(10, |s| s.parse().unwrap());
    let request = SearchRequest { query: args[2].clone(), filters: vec![], facets, facet_size: 10, limit, offset: 0, sort: Sort::Relevance };
    let n: usize = args[4].parse().unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n { reader.search(&request).unwrap(); }
    println!("{:.3} ms/query", t.elapsed().as_secs_f64() * 1000.0 / n as f64);
}
